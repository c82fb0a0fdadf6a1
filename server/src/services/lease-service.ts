import type { LeasedJob, LeaseResponse } from '@protocol/jobs';
import type { Database, Queryable } from '../db/database';
import { unregisteredDevice } from '../repositories/device-repository';
import type { ScrapingSettings } from '../scraping-settings';
import { trustToVerify } from '../verification/audit-rules';

/**
 * The conditions under which a job may go to `$1` (the device): open, ready, of an active campaign,
 * not already this device's, and not an audit of this device's own page. Audits go only to devices
 * with a record of passed audits (trust at least what earning needs): a fresh device, perhaps the
 * audited device's own twin, never checks anyone; until one qualifies, the server does.
 *
 * A paused or cancelled campaign's jobs are `held`, which takes them out of the `jobs_leasable`
 * partial index, so they cost the lease query nothing. The campaign's state is checked as well (a
 * primary-key probe per candidate) because it is the rule: a job inserted while its campaign was being
 * paused, or not yet reached by a pause that holds jobs in chunks, is still never leased.
 *
 * Audits go only to trusted devices. The rule is written as a range on the index's second column,
 * `(audit_of_page is null) >= untrusted`, so an untrusted device's probe starts past an origin's audits in
 * `jobs_leasable` instead of reading and discarding each of them: with few trusted devices audits pile
 * up, and every lease by a new device read ~460 of them per origin (bench/load.ts at 2,000 devices).
 */
const leasableJob = `
  j.open_slots > 0 and j.state in ('queued', 'fetched') and not j.held and j.available_at <= now()
  and exists (select 1 from campaigns lc where lc.id = j.campaign_id and lc.state = 'active')
  and (j.not_for_device is null or j.not_for_device <> $1)
  and (j.audit_of_page is null) >= (coalesce((select d.trust from devices d where d.address = $1), 0) < ${trustToVerify})
  and not exists (select 1 from assignments a where a.job_id = j.id and a.device = $1 and a.state <> 'expired')`;

/** The options a lease carries: the job's own (audit jobs copy the job they check), else its campaign's. */
const leaseOptions = `coalesce(j.keep_raw_html, c.keep_raw_html) as keep_raw_html,
  coalesce(j.collect_links, j.depth < c.max_depth) as collect_links`;

/** Most expired assignments one lease call returns to the queue; the rest wait for the next call. */
const expiryBatch = 1000;

/**
 * Returns the slots of assignments whose lease ran out, so their jobs can go to someone else; each
 * expired lease gives its slot back exactly once. One statement, committed on its own, that never waits
 * for a lock: the expired assignments and their jobs are taken together, oldest expiry first (read from
 * the expiry index; an order by id would read every assignment ever made), with SKIP LOCKED, so a lease
 * being ingested right now (its assignment and job locked) is left for a later call instead of queueing
 * behind, or deadlocking with, that ingest. FOR NO KEY UPDATE, as every row lock
 * of leases and ingest: the KEY SHARE locks of foreign-key checks (a page naming its job) pass.
 */
async function expireLeases(db: Database): Promise<number> {
  const rows = await db.query<{ expired: number }>(
    `with expired as materialized (
       select a.id, a.job_id from assignments a join jobs j on j.id = a.job_id
        where a.state = 'leased' and a.expires_at < now()
        order by a.expires_at
        limit $1
        for no key update of a, j skip locked),
     marked as (update assignments a set state = 'expired' from expired e where a.id = e.id),
     freed as (
       update jobs set open_slots = open_slots + e.n
         from (select job_id, count(*)::int as n from expired group by job_id) e
        where jobs.id = e.job_id)
     select count(*)::int as expired from expired`,
    [expiryBatch],
  );
  return rows[0]?.expired ?? 0;
}

/**
 * Locks the device's row for this transaction, so two lease calls of one device, even on two server
 * processes, take turns: the next statement (a statement of its own, so its snapshot is taken once the
 * lock is held) counts the live leases the other call made and never passes the cap.
 *
 * Why this lock cannot deadlock, although devices come after assignments, jobs and hosts in the
 * global lock order: it is the first lock the lease transaction takes (it holds nothing while it
 * waits), and after it the transaction only takes row locks with SKIP LOCKED, or on rows it already
 * locked or inserts itself; so it never waits while holding the device row. Whoever waits for the
 * device row (ingest updating devices.trust at the end of its transaction; FOR NO KEY UPDATE leaves
 * the ledger's foreign-key checks, FOR KEY SHARE, unblocked) waits only for a transaction that is
 * bound to finish without waiting on anyone.
 */
const lockDevice = 'select 1 from devices where address = $1 for no key update';

/**
 * One lease in one statement, after the device lock: count the device's live leases; take up to `room`
 * origins whose robots.txt is known and whose politeness delay has passed, oldest turn first, that have
 * a leasable job (SKIP LOCKED: an origin another lease or a back-off holds is left to the next call);
 * take one leasable job of each (audits first, then the oldest; SKIP LOCKED), assign it, take its slot
 * and move its origin's next turn on by the crawl delay. Jobs are locked FOR NO KEY UPDATE, so the KEY
 * SHARE locks of foreign-key checks (a new page naming its job) do not wait. Origins are locked FOR UPDATE:
 * with FOR NO KEY UPDATE, a lease whose origin row another lease had just locked and re-dated could wait
 * for it while following the row's update chain (SKIP LOCKED does not cover that wait), and two such leases
 * deadlocked under load (bench/load.ts at ≈1,200 devices on PostgreSQL). A row locked here is rechecked against its newest committed version, so a
 * slot or a turn another process just took is never taken twice. Always returns one row (the count) and
 * the leased jobs, if any, on it and more rows.
 *
 * Whether an origin has a leasable job is a LATERAL probe with LIMIT 1, not EXISTS: the planner may turn an
 * EXISTS into a semi-join and drive it from the jobs side, and with a campaign's job count underestimated (a
 * fresh campaign, statistics behind a fast crawl) it did, reading every leasable job of every active campaign
 * and probing each for this device's assignments: 25,000 buffers and ~20 ms a lease at ≈1,600 devices
 * (bench/load.ts, auto_explain). A LATERAL with LIMIT cannot be flattened, so the plan always walks
 * `hosts_due` in turn order and stops at the `room`-th origin that has a job.
 *
 * $1 device, $2 most jobs asked for, $3 the device's cap, $4 slots kept for a canary, $5 lease seconds.
 */
const leaseStatement = `
  with live as materialized (
    select count(*)::int as live, ceil(extract(epoch from (min(expires_at) - now())))::int as next_expiry
      from assignments where device = $1 and state = 'leased' and expires_at >= now()),
  free_hosts as materialized (
    select h.origin from hosts h
     cross join lateral (
       select 1 from jobs j where j.origin = h.origin and j.canary_sha256 is null and ${leasableJob} limit 1) leasable
     where h.next_fetch_at <= now() and h.robots_status in ('parsed', 'allow_all') and not h.opted_out
     order by h.next_fetch_at
     limit (select greatest(0, least($2::int, $3::int - live) - $4::int) from live)
     for update of h skip locked),
  picked as materialized (
    select p.* from free_hosts h cross join lateral (
      select j.id, j.origin, j.url, ${leaseOptions}
        from jobs j join campaigns c on c.id = j.campaign_id
       where j.origin = h.origin and j.canary_sha256 is null and ${leasableJob}
       order by (j.audit_of_page is null), j.id
       limit 1
       for no key update of j skip locked) p),
  assigned as (
    insert into assignments (job_id, device, expires_at)
    select id, $1, now() + make_interval(secs => $5) from picked order by id
    returning id, job_id, expires_at),
  slots as (update jobs set open_slots = open_slots - 1 from picked where jobs.id = picked.id),
  paced as (
    update hosts set next_fetch_at = now() + make_interval(secs => crawl_delay_ms / 1000.0)
      from picked where hosts.origin = picked.origin)
  select l.live, l.next_expiry, a.id::text as assignment_id, a.expires_at, p.url, p.keep_raw_html, p.collect_links
    from live l left join (assigned a join picked p on p.id = a.job_id) on true
   order by a.id`;

interface LeaseRow {
  live: number;
  next_expiry: number | null;
  assignment_id: string | null;
  expires_at: Date | null;
  url: string | null;
  keep_raw_html: boolean | null;
  collect_links: boolean | null;
}

const leasedJob = (
  settings: ScrapingSettings,
  lease: { assignmentId: string; expiresAt: Date; url: string; keepRawHtml: boolean; collectLinks: boolean },
): LeasedJob => ({
  assignmentId: lease.assignmentId,
  // The lease's own id, not the job's: job ids would tell a job made just now (a canary, an audit)
  // from the campaign's older ones; lease ids are all minted now, in lease order.
  jobId: lease.assignmentId,
  url: lease.url,
  keepRawHtml: lease.keepRawHtml,
  collectLinks: lease.collectLinks,
  maxBytes: settings.maxPageBytes,
  timeoutMs: settings.fetchTimeoutMs,
  leaseExpiresAt: lease.expiresAt.toISOString(),
});

interface JobRow {
  id: string;
  url: string;
  keep_raw_html: boolean;
  collect_links: boolean;
}

/** Assigns a job made for this one lease (a canary) to the device, and takes its slot. */
async function assign(tx: Queryable, device: string, job: JobRow, settings: ScrapingSettings): Promise<LeasedJob> {
  const rows = await tx.query<{ id: string; expires_at: Date }>(
    `insert into assignments (job_id, device, expires_at)
     values ($1, $2, now() + make_interval(secs => $3)) returning id::text, expires_at`,
    [job.id, device, settings.leaseSeconds],
  );
  const assignment = rows[0];
  if (!assignment) throw new Error('assignment insert returned no row');
  await tx.query('update jobs set open_slots = open_slots - 1 where id = $1', [job.id]);
  return leasedJob(settings, {
    assignmentId: assignment.id,
    expiresAt: assignment.expires_at,
    url: job.url,
    keepRawHtml: job.keep_raw_html,
    collectLinks: job.collect_links,
  });
}

/**
 * Leases a canary page (content the server knows) as a job made for this one lease: a fresh job id,
 * and the options of the other jobs in this lease (or of the device's latest lease), so nothing about
 * it differs from an ordinary job. A device checks each canary URL at most once.
 */
async function leaseCanary(
  tx: Queryable,
  device: string,
  alongside: LeasedJob | undefined,
  settings: ScrapingSettings,
): Promise<LeasedJob | null> {
  const templates = await tx.query<{
    id: string;
    campaign_id: string;
    url: string;
    origin: string;
    canary_sha256: string;
  }>(
    `select j.id::text as id, j.campaign_id, j.url, j.origin, j.canary_sha256
       from jobs j join hosts h on h.origin = j.origin
      where j.canary_sha256 is not null and j.for_device is null
        and h.next_fetch_at <= now() and h.robots_status in ('parsed', 'allow_all') and not h.opted_out
        and not exists (select 1 from jobs k where k.for_device = $1 and k.url = j.url)
      order by random() limit 1
      for update of h skip locked`,
    [device],
  );
  const template = templates[0];
  if (!template) return null;
  let options = alongside ? { keep: alongside.keepRawHtml, links: alongside.collectLinks } : null;
  if (!options) {
    const latest = await tx.query<{ keep_raw_html: boolean; collect_links: boolean }>(
      `select ${leaseOptions} from assignments a join jobs j on j.id = a.job_id join campaigns c on c.id = j.campaign_id
        where a.device = $1 and j.canary_sha256 is null order by a.id desc limit 1`,
      [device],
    );
    options = { keep: latest[0]?.keep_raw_html ?? false, links: latest[0]?.collect_links ?? false };
  }
  const minted = await tx.query<{ id: string }>(
    `insert into jobs (campaign_id, url, origin, depth, canary_sha256, copies_wanted, open_slots, for_device,
                       keep_raw_html, collect_links)
     values ($1, $2, $3, 0, $4, 1, 1, $5, $6, $7) returning id::text as id`,
    [template.campaign_id, template.url, template.origin, template.canary_sha256, device, options.keep, options.links],
  );
  const id = minted[0]?.id;
  if (!id) return null;
  await tx.query(
    `update hosts set next_fetch_at = now() + make_interval(secs => crawl_delay_ms / 1000.0) where origin = $1`,
    [template.origin],
  );
  return assign(
    tx,
    device,
    { id, url: template.url, keep_raw_html: options.keep, collect_links: options.links },
    settings,
  );
}

/** When this process last swept each database's expired leases. */
const lastSweep = new WeakMap<Database, number>();

/** The expiry sweep, at most once per `intervalMs` per process (0: every call). */
async function expireLeasesAtMostEvery(db: Database, intervalMs: number): Promise<void> {
  const now = Date.now();
  if (intervalMs > 0 && now - (lastSweep.get(db) ?? Number.NEGATIVE_INFINITY) < intervalMs) return;
  lastSweep.set(db, now);
  // A full batch means more are waiting (a fleet went offline): the next lease sweeps again at once.
  if ((await expireLeases(db)) >= expiryBatch) lastSweep.delete(db);
}

/**
 * Leases up to `max` jobs to a device, at most one per origin per call, only from origins whose
 * robots.txt is known and whose politeness delay has passed (shared by all devices and server
 * processes through the hosts table), and never more than the device's cap of live leases. Rows
 * are taken with SKIP LOCKED, so concurrent leasers never hand out the same slot twice. A call is
 * a few statements whatever it leases: the expiry sweep (at most once a second per process), then in one
 * transaction the device lock and the lease statement (sent together), and a canary now and then.
 */
export function leaseService(db: Database, settings: ScrapingSettings) {
  return {
    async lease(device: string, max: number): Promise<LeaseResponse> {
      await expireLeasesAtMostEvery(db, settings.leaseSweepIntervalMs);
      const outcome = await db.transaction(async (tx) => {
        const wantsCanary = Math.random() < settings.canaryRate;
        const cap = settings.limits.leasesPerDevice;
        // Sent together: the lease statement runs once the lock is held, without a round trip between.
        const [locked, leasing] = await Promise.allSettled([
          tx.query(lockDevice, [device]),
          tx.query<LeaseRow>(leaseStatement, [device, max, cap, wantsCanary ? 1 : 0, settings.leaseSeconds]),
        ]);
        // No row to lock: the device's row is gone under a live session (its lease then failed, or leased nothing).
        if (locked.status === 'fulfilled' && locked.value.length === 0) throw unregisteredDevice(device);
        if (locked.status === 'rejected') throw locked.reason;
        if (leasing.status === 'rejected') throw leasing.reason;
        const rows = leasing.value;
        const held = { live: rows[0]?.live ?? 0, nextExpirySeconds: rows[0]?.next_expiry ?? 1 };
        const room = Math.min(max, cap - held.live);
        // At the cap: come back when the oldest lease has been submitted or has run out.
        if (room <= 0) return { leased: [] as LeasedJob[], capped: Math.max(1, Math.min(held.nextExpirySeconds, 60)) };
        const leased: LeasedJob[] = [];
        for (const row of rows) {
          if (row.assignment_id === null || row.expires_at === null || row.url === null) continue;
          leased.push(
            leasedJob(settings, {
              assignmentId: row.assignment_id,
              expiresAt: row.expires_at,
              url: row.url,
              keepRawHtml: row.keep_raw_html === true,
              collectLinks: row.collect_links === true,
            }),
          );
        }
        if (wantsCanary && leased.length < room) {
          const canary = await leaseCanary(tx, device, leased[0], settings);
          if (canary) leased.push(canary);
        }
        // Shuffled, so a canary's place in the list tells nothing either.
        for (let i = leased.length - 1; i > 0; i -= 1) {
          const k = Math.floor(Math.random() * (i + 1));
          [leased[i], leased[k]] = [leased[k] as LeasedJob, leased[i] as LeasedJob];
        }
        return { leased, capped: null };
      });
      const jobs = outcome.leased;
      if (jobs.length > 0) return { jobs, retryAfterSeconds: 0 };
      if (outcome.capped !== null) return { jobs, retryAfterSeconds: outcome.capped };
      // The first due origin that has a job, in turn order (a LATERAL probe, for the reason given at leaseStatement).
      const next = await db.query<{ wait: number | null }>(
        `select ceil(extract(epoch from (h.next_fetch_at - now())))::int as wait from hosts h
          cross join lateral (select 1 from jobs j where j.origin = h.origin and ${leasableJob} limit 1) leasable
          where h.robots_status in ('parsed', 'allow_all') and not h.opted_out
          order by h.next_fetch_at limit 1`,
        [device],
      );
      const wait = next[0]?.wait;
      return {
        jobs: [],
        retryAfterSeconds: wait === null || wait === undefined ? 60 : Math.max(1, Math.min(wait, 60)),
      };
    },
  };
}
