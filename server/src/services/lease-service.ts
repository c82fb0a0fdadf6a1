import type { LeasedJob, LeaseResponse } from '@protocol/jobs';
import type { Database, Queryable } from '../db/database';
import type { ScrapingSettings } from '../scraping-settings';

/** The conditions under which a job may go to `$1` (the device): open, ready, and not already this device's. */
const leasableJob = `
  j.open_slots > 0 and j.state in ('queued', 'fetched') and j.available_at <= now()
  and not exists (select 1 from assignments a where a.job_id = j.id and a.device = $1 and a.state <> 'expired')`;

/** Returns the slots of assignments whose lease ran out, so their jobs can go to someone else. */
async function expireLeases(tx: Queryable): Promise<number> {
  const rows = await tx.query<{ job_id: string }>(
    `update assignments set state = 'expired' where state = 'leased' and expires_at < now() returning job_id::text`,
  );
  if (rows.length === 0) return 0;
  await tx.query(
    `update jobs set open_slots = open_slots + e.n
       from (select unnest($1::bigint[]) as job_id, 1 as n) e where jobs.id = e.job_id`,
    [rows.map((row) => row.job_id)],
  );
  return rows.length;
}

interface JobRow {
  id: string;
  url: string;
  keep_raw_html: boolean;
  collect_links: boolean;
}

async function assign(tx: Queryable, device: string, job: JobRow, settings: ScrapingSettings): Promise<LeasedJob> {
  const rows = await tx.query<{ id: string; expires_at: Date }>(
    `insert into assignments (job_id, device, expires_at)
     values ($1, $2, now() + make_interval(secs => $3)) returning id::text, expires_at`,
    [job.id, device, settings.leaseSeconds],
  );
  const assignment = rows[0];
  if (!assignment) throw new Error('assignment insert returned no row');
  await tx.query('update jobs set open_slots = open_slots - 1 where id = $1', [job.id]);
  return {
    assignmentId: assignment.id,
    jobId: job.id,
    url: job.url,
    keepRawHtml: job.keep_raw_html,
    collectLinks: job.collect_links,
    maxBytes: settings.maxPageBytes,
    timeoutMs: settings.fetchTimeoutMs,
    leaseExpiresAt: assignment.expires_at.toISOString(),
  };
}

/**
 * Leases up to `max` jobs to a device, at most one per origin per call, only from origins whose
 * robots.txt is known and whose politeness delay has passed (shared by all devices and server
 * processes through the hosts table). Rows are taken with FOR UPDATE SKIP LOCKED, so concurrent
 * leasers never hand out the same slot twice.
 */
export function leaseService(db: Database, settings: ScrapingSettings) {
  return {
    async lease(device: string, max: number): Promise<LeaseResponse> {
      const jobs = await db.transaction(async (tx) => {
        await expireLeases(tx);
        const leased: LeasedJob[] = [];
        if (Math.random() < settings.canaryRate) {
          const canary = await tx.query<JobRow>(
            `select j.id::text as id, j.url, false as keep_raw_html, false as collect_links
               from jobs j join hosts h on h.origin = j.origin
              where j.canary_sha256 is not null and ${leasableJob}
                and h.next_fetch_at <= now() and h.robots_status in ('parsed', 'allow_all') and not h.opted_out
              order by random() limit 1
              for update of j skip locked`,
            [device],
          );
          const job = canary[0];
          if (job) {
            leased.push(await assign(tx, device, job, settings));
            await tx.query(
              `update hosts set next_fetch_at = now() + make_interval(secs => crawl_delay_ms / 1000.0)
                where origin = (select origin from jobs where id = $1)`,
              [job.id],
            );
          }
        }
        const hosts = await tx.query<{ origin: string; crawl_delay_ms: number }>(
          `select h.origin, h.crawl_delay_ms from hosts h
            where h.next_fetch_at <= now() and h.robots_status in ('parsed', 'allow_all') and not h.opted_out
              and exists (select 1 from jobs j where j.origin = h.origin and j.canary_sha256 is null and ${leasableJob})
            order by h.next_fetch_at
            limit $2
            for update of h skip locked`,
          [device, Math.max(0, max - leased.length)],
        );
        for (const host of hosts) {
          const rows = await tx.query<JobRow>(
            `select j.id::text as id, j.url, c.keep_raw_html, (j.depth < c.max_depth) as collect_links
               from jobs j join campaigns c on c.id = j.campaign_id
              where j.origin = $2 and j.canary_sha256 is null and ${leasableJob}
              order by j.id
              limit 1
              for update of j skip locked`,
            [device, host.origin],
          );
          const job = rows[0];
          if (!job) continue;
          leased.push(await assign(tx, device, job, settings));
          await tx.query(
            `update hosts set next_fetch_at = now() + make_interval(secs => crawl_delay_ms / 1000.0) where origin = $1`,
            [host.origin],
          );
        }
        return leased;
      });
      if (jobs.length > 0) return { jobs, retryAfterSeconds: 0 };
      const next = await db.query<{ wait: number | null }>(
        `select ceil(extract(epoch from (min(h.next_fetch_at) - now())))::int as wait from hosts h
          where h.robots_status in ('parsed', 'allow_all') and not h.opted_out
            and exists (select 1 from jobs j where j.origin = h.origin and ${leasableJob})`,
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
