import type { FailedFetch, FetchedPage, ResultAck, ResultBatchAck } from '@protocol/results';
import { checkUrl } from '@protocol/url-guard';
import type { FastifyBaseLogger } from 'fastify';
import type { Database, Queryable } from '../db/database';
import type { ScrapingSettings } from '../scraping-settings';
import { applyChecks, verifyNewPages } from '../verification/audits';
import { enqueueAggregation } from './background-work';
import { enqueueJobs } from './campaign-service';
import { applyLabels } from './label-ingest';
import { type CheckedRecord, checkAgainstLease, checkRecords, type LabelRecord, type Refusal } from './record-checks';

/** Failures that say something about the page, not the moment: the job is not retried. */
const permanentFailures = new Set([
  'url_blocked',
  'redirect_blocked',
  'too_many_redirects',
  'private_ip',
  'too_large',
  'content_type',
  'extraction_failed',
]);
const maxAttempts = 3;
/** The longest any origin is backed off for, whatever Retry-After devices report. */
export const maxOriginBackoffSeconds = 3600;
/**
 * The longest one device's reports can back an origin off: longer needs another device's report within
 * `corroborationSeconds`, so no single device can freeze a site for everyone.
 */
export const uncorroboratedBackoffSeconds = 60;
const corroborationSeconds = 600;

interface AssignmentRow {
  id: string;
  job_id: string;
  state: string;
  leased_at: Date;
  expires_at: Date;
}

interface JobRow {
  id: string;
  url: string;
  state: string;
  canary_sha256: string | null;
  audit_of_page: string | null;
  copies_wanted: number;
  copies_received: number;
  open_slots: number;
  attempts: number;
  failure_reason: string | null;
  failure_check: string | null;
  failure_reported_by: string | null;
  campaign_id: string;
  depth: number;
  origin: string;
  max_depth: number;
  max_pages: number | null;
  keep_raw_html: boolean;
  /** This device already stored a page of this job (under an earlier lease). */
  delivered: boolean;
  /** The job's origin's error streak as this batch read it (unlocked): a fetched page resets only a non-zero one. */
  host_errors: number;
}

/** What a job becomes after this batch: computed in memory, written in one statement with the others. */
interface JobChange {
  row: JobRow;
  retryInSeconds: number | null;
}

interface StoredPage {
  index: number;
  page: FetchedPage;
  assignment: AssignmentRow;
  job: JobRow;
  textSha256: string;
  finalUrl: string;
  /** A copy beyond what the job asked for: kept, marked as a duplicate, and paid nothing. */
  surplus: boolean;
}

interface HostChange {
  origin: string;
  fetched: boolean;
  /** Back-off asked for by a failure: Retry-After (clamped) or exponential from the crawl delay. */
  backoff: { retryAfterSeconds: number } | null;
}

/**
 * Ingests a device's batch of results. Every record gets its own verdict (accepted, duplicate, or
 * rejected with a stable code and a reason); the batch is acknowledged whole, so one bad record
 * never blocks a device's queue. A batch id seen before gets its first answer again, also when two
 * copies arrive at once (the id is claimed first, inside the transaction). Checks run in memory;
 * writes are a few multi-row statements per batch, taking row locks in one global order
 * (assignments, jobs, hosts by key; then devices; then ledger rows) so concurrent batches never deadlock.
 */
export function ingestService(
  db: Database,
  settings: ScrapingSettings,
  hooks: {
    /** After a batch with labels committed (their aggregation is queued already): wake the worker. */
    onLabels?: (projectIds: string[]) => void;
    log?: FastifyBaseLogger;
  } = {},
) {
  return {
    async ingest(device: string, batchId: string, results: readonly unknown[]): Promise<ResultBatchAck> {
      const checked = checkRecords(results);
      const outcome = await db.transaction(async (tx) => {
        const claimed = await tx.query(
          `insert into result_batches (batch_id, device) values ($1, $2) on conflict (batch_id) do nothing returning 1`,
          [batchId, device],
        );
        if (claimed.length === 0) return { acks: await earlierAcks(tx, batchId, device, checked), projects: [] };

        const acks: ResultAck[] = new Array(checked.length);
        for (const record of checked) {
          if (record.kind === 'refused')
            acks[record.index] = rejected(record.index, record.assignmentId, record.refusal);
        }
        const accepted = checked.filter((record) => record.kind !== 'refused');
        const projects = new Set<string>();
        let warned = false;
        // A record the checks let through can still break a write: the batch is halved until that record
        // stands alone, and only it is refused.
        const isolate = async (records: readonly CheckedRecord[]): Promise<void> => {
          try {
            const ids = await tx.savepoint((scope) => applyRecords(scope, device, records, acks, settings));
            for (const id of ids) projects.add(id);
          } catch (error) {
            if (!isDataError(error)) throw error;
            if (!warned)
              hooks.log?.warn({ err: error, batchId }, 'a batch write failed on its data; isolating the record');
            warned = true;
            const [record] = records;
            if (records.length === 1 && record) {
              acks[record.index] = rejected(record.index, assignmentIdOfRecord(record), {
                code: 'invalid_record',
                reason: `the server could not store this record: ${(error as Error).message}`.slice(0, 300),
              });
              return;
            }
            // Halves, not one savepoint per record: every subtransaction that writes counts, and past 64 in
            // one transaction PostgreSQL slows every session's snapshots. One bad record in 500 takes about 18.
            const half = Math.ceil(records.length / 2);
            await isolate(records.slice(0, half));
            await isolate(records.slice(half));
          }
        };
        if (accepted.length > 0) await isolate(accepted);
        // Aggregation (and label payment) is queued with the labels it is for: both commit, or neither.
        if (projects.size > 0) await enqueueAggregation(tx, [...projects]);
        await tx.query('update result_batches set acks = $2 where batch_id = $1', [batchId, JSON.stringify(acks)]);
        return { acks, projects: [...projects] };
      });
      if (outcome.projects.length > 0) hooks.onLabels?.(outcome.projects);
      return { batchId, acks: outcome.acks };
    },
  };
}

const rejected = (index: number, assignmentId: string | null, refusal: Refusal): ResultAck => ({
  index,
  assignmentId,
  status: 'rejected',
  code: refusal.code,
  reason: refusal.reason,
});

const duplicate = (index: number, assignmentId: string, refusal: Refusal): ResultAck => ({
  index,
  assignmentId,
  status: 'duplicate',
  code: refusal.code,
  reason: refusal.reason,
});

const assignmentIdOfRecord = (record: CheckedRecord): string | null =>
  record.kind === 'scrape' ? record.result.assignmentId : record.kind === 'label' ? record.label.assignmentId : null;

/** PostgreSQL errors caused by the values written (classes 22 data exception, 23 integrity, 54 limits), not by the database's health. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}

/** The acknowledgement a batch id already got; a batch id used by another device refuses every record. */
async function earlierAcks(
  tx: Queryable,
  batchId: string,
  device: string,
  checked: readonly CheckedRecord[],
): Promise<ResultAck[]> {
  const rows = await tx.query<{ device: string; acks: string | null }>(
    'select device, acks from result_batches where batch_id = $1',
    [batchId],
  );
  const earlier = rows[0];
  if (earlier && earlier.device === device && earlier.acks !== null) return JSON.parse(earlier.acks) as ResultAck[];
  return checked.map((record) =>
    rejected(record.index, assignmentIdOfRecord(record), {
      code: 'batch_id_taken',
      reason: 'this batch id was used by another device; send these records under a new batch id',
    }),
  );
}

/** Applies the records that passed the in-memory checks; returns the projects whose labels changed. */
async function applyRecords(
  tx: Queryable,
  device: string,
  records: readonly CheckedRecord[],
  acks: ResultAck[],
  settings: ScrapingSettings,
): Promise<string[]> {
  const scrapes: Array<{ index: number; result: FetchedPage | FailedFetch }> = [];
  const labels: Array<{ index: number; label: LabelRecord }> = [];
  for (const record of records) {
    if (record.kind === 'scrape') scrapes.push(record);
    else if (record.kind === 'label') labels.push(record);
  }
  if (scrapes.length > 0) await applyScrapes(tx, device, scrapes, acks, settings);
  if (labels.length === 0) return [];
  return applyLabels(tx, device, labels, acks);
}

async function applyScrapes(
  tx: Queryable,
  device: string,
  scrapes: ReadonlyArray<{ index: number; result: FetchedPage | FailedFetch }>,
  acks: ResultAck[],
  settings: ScrapingSettings,
): Promise<void> {
  // Lock order: assignments by id, then jobs by id, then hosts by origin.
  const ids = [...new Set(scrapes.map((s) => s.result.assignmentId).filter((id) => /^\d{1,18}$/.test(id)))];
  const assignmentRows = await tx.query<AssignmentRow>(
    `select id::text as id, job_id::text as job_id, state, leased_at, expires_at from assignments
      where id = any($1::text[]::bigint[]) and device = $2 order by id for no key update`,
    [ids, device],
  );
  const assignments = new Map(assignmentRows.map((row) => [row.id, row]));
  const jobIds = [...new Set(assignmentRows.map((row) => row.job_id))];
  const jobRows = await tx.query<JobRow>(
    `select j.id::text as id, j.url, j.state, j.canary_sha256, j.audit_of_page::text as audit_of_page, j.copies_wanted, j.copies_received, j.open_slots,
            j.attempts, j.failure_reason, j.failure_check, j.failure_reported_by, j.campaign_id, j.depth, j.origin, c.max_depth, c.max_pages, c.keep_raw_html,
            exists (select 1 from pages p where p.job_id = j.id and p.device = $2) as delivered,
            h.consecutive_errors as host_errors
       from jobs j join campaigns c on c.id = j.campaign_id join hosts h on h.origin = j.origin
      where j.id = any($1::text[]::bigint[]) order by j.id for no key update of j`,
    [jobIds, device],
  );
  const jobs = new Map<string, JobChange>(jobRows.map((row) => [row.id, { row: { ...row }, retryInSeconds: null }]));
  // A device keeps one page per job: an earlier lease of the same job (expired, then leased again) may have delivered it.
  const delivered = new Set(jobRows.filter((row) => row.delivered).map((row) => row.id));
  const now = new Date();
  const settled = new Map<string, 'submitted' | 'failed'>();
  const pages: StoredPage[] = [];
  const hosts = new Map<string, HostChange>();
  for (const { index, result } of scrapes) {
    const assignment = assignments.get(result.assignmentId);
    const job = assignment ? jobs.get(assignment.job_id) : undefined;
    if (!assignment || !job) {
      acks[index] = rejected(index, result.assignmentId, {
        code: 'foreign_assignment',
        reason: `assignment ${result.assignmentId} is not a lease of this device`,
      });
      continue;
    }
    if (settled.has(assignment.id) || assignment.state === 'submitted' || assignment.state === 'failed') {
      acks[index] = duplicate(index, result.assignmentId, {
        code: 'already_received',
        reason: 'this result was received before; it is kept once',
      });
      continue;
    }
    const verdict = checkAgainstLease(
      result,
      { jobId: assignment.id, jobUrl: job.row.url, leasedAt: assignment.leased_at, expiresAt: assignment.expires_at },
      now,
      settings.testOrigins,
    );
    if ('code' in verdict) {
      acks[index] = rejected(index, result.assignmentId, verdict);
      continue;
    }
    // Whether the sweep already gave this lease's slot back: its state says so exactly (the row is locked here,
    // and the sweep skips locked rows). A lease past its time but not yet swept still holds its slot.
    const wasExpired = assignment.state === 'expired';
    if (result.outcome === 'fetched') {
      settled.set(assignment.id, 'submitted');
      const { row } = job;
      if (delivered.has(row.id)) {
        acks[index] = duplicate(index, result.assignmentId, {
          code: 'already_received',
          reason: 'this device already delivered this page under an earlier lease; it is kept once',
        });
        continue;
      }
      delivered.add(row.id);
      const surplus = row.canary_sha256 === null && row.copies_received >= row.copies_wanted;
      pages.push({
        index,
        page: result,
        assignment,
        job: row,
        textSha256: verdict.textSha256 ?? '',
        finalUrl: verdict.finalUrl ?? result.finalUrl,
        surplus,
      });
      if (surplus) {
        acks[index] = duplicate(index, result.assignmentId, {
          code: 'job_complete',
          reason: 'other devices already delivered every copy this page needed; yours is kept but earns nothing',
        });
        continue;
      }
      row.copies_received += 1;
      if (row.state === 'queued') row.state = 'fetched';
      // A lease that ran out gave its slot back then; the page came after all, so take the slot again.
      if (wasExpired) row.open_slots = Math.max(0, row.open_slots - 1);
      // The origin's row is written (and locked) only to end an error streak: most fetches change nothing there.
      if (row.host_errors > 0) hostChange(hosts, row.origin).fetched = true;
      acks[index] = { index, assignmentId: result.assignmentId, status: 'accepted' };
    } else {
      settled.set(assignment.id, 'failed');
      applyFailure(job, result, device, wasExpired, hosts, settings);
      acks[index] = { index, assignmentId: result.assignmentId, status: 'accepted' };
    }
  }

  // Sent together, one after another on the transaction's connection (so in this order, which keeps the
  // lock order): the driver pipelines them instead of waiting a round trip for each.
  const [, pageIds] = await Promise.all([
    settled.size > 0
      ? tx.query(
          `update assignments set state = t.state from unnest($1::text[]::bigint[], $2::text[]) as t(id, state)
            where assignments.id = t.id`,
          [[...settled.keys()], [...settled.values()]],
        )
      : undefined,
    insertPages(tx, device, pages),
    writeJobs(tx, [...jobs.values()]),
    writeHosts(tx, device, [...hosts.values()]),
  ]);
  const checks = await verifyNewPages(
    tx,
    device,
    pages
      .filter((page) => !page.surplus && pageIds.has(page.job.id))
      .map((page) => ({
        pageId: pageIds.get(page.job.id) as string,
        jobId: page.job.id,
        url: page.page.url,
        text: page.page.text,
        textSha256: page.textSha256,
        canarySha256: page.job.canary_sha256,
        auditOfPage: page.job.audit_of_page,
        leasedAt: page.assignment.leased_at,
      })),
    settings.audits,
  );
  await applyChecks(tx, checks);
  for (const page of pages) {
    if (!page.surplus && page.page.links.length > 0 && page.job.depth < page.job.max_depth) {
      await followLinks(tx, page.job, page.page, settings);
    }
  }
}

function hostChange(hosts: Map<string, HostChange>, origin: string): HostChange {
  let change = hosts.get(origin);
  if (!change) {
    change = { origin, fetched: false, backoff: null };
    hosts.set(origin, change);
  }
  return change;
}

/** A failed fetch: back off the origin when the site asked for it or did not answer; retry or fail the job. */
function applyFailure(
  job: JobChange,
  failure: FailedFetch,
  device: string,
  wasExpired: boolean,
  hosts: Map<string, HostChange>,
  settings: ScrapingSettings,
): void {
  const overloaded = failure.httpStatus === 429 || failure.httpStatus === 503;
  if (overloaded || failure.error === 'timeout' || failure.error === 'network_error') {
    const change = hostChange(hosts, job.row.origin);
    const retryAfterSeconds = Math.min(maxOriginBackoffSeconds, failure.retryAfterSeconds ?? 0);
    change.backoff = { retryAfterSeconds: Math.max(change.backoff?.retryAfterSeconds ?? 0, retryAfterSeconds) };
  }
  const { row } = job;
  if (row.state !== 'queued') return;
  const permanent =
    permanentFailures.has(failure.error) ||
    (failure.error === 'http_error' && !overloaded && (failure.httpStatus ?? 500) < 500);
  row.attempts += 1;
  row.failure_reason = `${failure.error}: ${failure.detail}`.slice(0, 500);
  if (permanent || row.attempts >= maxAttempts) {
    row.state = 'failed';
    row.open_slots = 0;
    // One device's word alone that the page can never be fetched is checked by the server's own fetch, which
    // opens the job again if the page comes: a made-up 404 would otherwise drop a buyer's page for good. A
    // second device's permanent report needs no check. Canaries and audit copies are the server's own jobs.
    const ownJob = row.canary_sha256 !== null || row.audit_of_page !== null;
    const agreed = row.failure_reported_by !== null && row.failure_reported_by !== device;
    if (permanent && !ownJob && !agreed) {
      row.failure_check = 'due';
      row.failure_reported_by = device;
    } else {
      row.failure_check = null;
    }
  } else if (!wasExpired) {
    // A lease that had already expired gave its slot back then; reopening it again would make two.
    row.open_slots += 1;
  }
  job.retryInSeconds = Math.ceil(settings.politenessMs / 1000) * 5;
}

// Every array parameter goes as text[] and is cast in SQL: the postgres driver types an array by its
// first element (and not at all when that is null), PGlite by the cast; text works alike on both.

/** Stores the pages (surplus copies too, marked); returns the new page ids by job id. */
async function insertPages(tx: Queryable, device: string, pages: readonly StoredPage[]): Promise<Map<string, string>> {
  if (pages.length === 0) return new Map();
  const column = <T>(pick: (page: StoredPage) => T) => pages.map(pick);
  const rows = await tx.query<{ id: string; job_id: string }>(
    `insert into pages (job_id, assignment_id, device, campaign_id, url, final_url, http_status, content_type,
                        fetched_at, bytes_fetched, title, text, lang, canonical_url, text_sha256, html, verification, links)
     select t.job_id::bigint, t.assignment_id::bigint, $1, t.campaign_id::uuid, t.url, t.final_url, t.http_status,
            t.content_type, t.fetched_at::timestamptz, t.bytes_fetched, t.title, t.text, t.lang, t.canonical_url,
            t.text_sha256, t.html, t.verification, t.links::jsonb
       from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]::int[], $8::text[], $9::text[],
                   $10::text[]::int[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
                   $18::text[])
         as t(job_id, assignment_id, campaign_id, url, final_url, http_status, content_type, fetched_at,
              bytes_fetched, title, text, lang, canonical_url, text_sha256, html, verification, links)
     on conflict (job_id, device) do nothing
     returning id::text as id, job_id::text as job_id`,
    [
      device,
      column((p) => p.job.id),
      column((p) => p.assignment.id),
      column((p) => p.job.campaign_id),
      column((p) => p.page.url),
      column((p) => p.finalUrl),
      column((p) => String(p.page.httpStatus)),
      column((p) => p.page.contentType),
      // As UTC: PostgreSQL refuses offsets past ±15:59 that ISO dates may carry (the lease check read the instant).
      column((p) => new Date(p.page.fetchedAt).toISOString()),
      column((p) => String(p.page.bytesFetched)),
      column((p) => p.page.title),
      column((p) => p.page.text),
      column((p) => p.page.lang),
      column((p) => p.page.canonicalUrl),
      column((p) => p.textSha256),
      column((p) => (p.job.keep_raw_html && p.page.html !== undefined ? p.page.html : null)),
      column((p) => (p.surplus ? 'duplicate' : 'unverified')),
      // As uploaded (protocol/results.ts bounds them: 5,000 links of 4,096 characters at most), for the buyer to read.
      column((p) => JSON.stringify(p.page.links)),
    ],
  );
  return new Map(rows.map((row) => [row.job_id, row.id]));
}

/** Every job this batch touched, written back in one statement (the rows are locked, so the values are ours). */
async function writeJobs(tx: Queryable, jobs: readonly JobChange[]): Promise<void> {
  if (jobs.length === 0) return;
  await tx.query(
    `update jobs set state = t.state, copies_received = t.copies_received, open_slots = t.open_slots,
            attempts = t.attempts, failure_reason = t.failure_reason, failure_check = t.failure_check,
            failure_reported_by = t.failure_reported_by,
            available_at = coalesce(now() + make_interval(secs => t.retry_in), jobs.available_at)
       from unnest($1::text[]::bigint[], $2::text[], $3::text[]::int[], $4::text[]::int[], $5::text[]::int[], $6::text[],
                $7::text[]::int[], $8::text[], $9::text[])
         as t(id, state, copies_received, open_slots, attempts, failure_reason, retry_in, failure_check, failure_reported_by)
      where jobs.id = t.id`,
    [
      jobs.map((job) => job.row.id),
      jobs.map((job) => job.row.state),
      jobs.map((job) => String(job.row.copies_received)),
      jobs.map((job) => String(job.row.open_slots)),
      jobs.map((job) => String(job.row.attempts)),
      jobs.map((job) => job.row.failure_reason),
      jobs.map((job) => (job.retryInSeconds === null ? null : String(job.retryInSeconds))),
      jobs.map((job) => job.row.failure_check),
      jobs.map((job) => job.row.failure_reported_by),
    ],
  );
}

/**
 * A fetched page clears its origin's error streak; a failure the site caused backs the origin off
 * for every device: Retry-After or exponential from the crawl delay, never beyond the clamp, and
 * beyond a minute only when another device reported the origin overloaded in the last ten minutes.
 * Only origins whose state changes come here (a streak to end, a back-off): the others, hot rows every
 * lease of their origin takes, are neither locked nor written, so an upload does not queue behind leases.
 */
async function writeHosts(tx: Queryable, device: string, changes: readonly HostChange[]): Promise<void> {
  if (changes.length === 0) return;
  const sorted = [...changes].sort((a, b) => (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0));
  // Locked first, in origin order, in a statement of its own: an UPDATE locks rows in whatever order its plan meets them.
  // FOR NO KEY UPDATE (as every lock of ingest): rows inserted later in the transaction (audit jobs, pages)
  // take KEY SHARE locks on the rows they reference, which FOR UPDATE would block across two batches.
  await tx.query('select 1 from hosts where origin = any($1::text[]) order by origin for no key update', [
    sorted.map((change) => change.origin),
  ]);
  await tx.query(
    `update hosts set
        consecutive_errors = case when t.backoff is not null then hosts.consecutive_errors + 1
                                  when t.fetched then 0 else hosts.consecutive_errors end,
        next_fetch_at = case when t.backoff is null then hosts.next_fetch_at
          else greatest(hosts.next_fetch_at, now() + make_interval(secs => least(
            case when hosts.backoff_reporter is not null and hosts.backoff_reporter <> $5
                      and hosts.backoff_reported_at > now() - make_interval(secs => $7)
                 then $4::double precision else $6::double precision end,
            greatest(t.backoff::double precision,
                     hosts.crawl_delay_ms / 1000.0 * power(2, least(hosts.consecutive_errors + 1, 10)))))) end,
        backoff_reporter = case when t.backoff is null then hosts.backoff_reporter else $5 end,
        backoff_reported_at = case when t.backoff is null then hosts.backoff_reported_at else now() end
       from unnest($1::text[], $2::text[]::boolean[], $3::text[]::int[]) as t(origin, fetched, backoff)
      where hosts.origin = t.origin`,
    [
      sorted.map((change) => change.origin),
      sorted.map((change) => String(change.fetched)),
      sorted.map((change) => (change.backoff ? String(change.backoff.retryAfterSeconds) : null)),
      maxOriginBackoffSeconds,
      device,
      uncorroboratedBackoffSeconds,
      corroborationSeconds,
    ],
  );
}

/** Queues the same-origin links of a page one level deeper, within the campaign's page cap. */
async function followLinks(tx: Queryable, job: JobRow, page: FetchedPage, settings: ScrapingSettings) {
  const candidates = new Map<string, { url: string; origin: string; depth: number }>();
  for (const link of page.links) {
    const verdict = checkUrl(link, { allowedTestOrigins: settings.testOrigins });
    if (!verdict.ok) continue;
    const origin = new URL(verdict.url).origin;
    if (origin !== job.origin) continue;
    candidates.set(verdict.url, { url: verdict.url, origin, depth: job.depth + 1 });
  }
  if (candidates.size === 0) return;
  let room = Number.POSITIVE_INFINITY;
  if (job.max_pages !== null) {
    const count = await tx.query<{ count: number }>('select count(*)::int as count from jobs where campaign_id = $1', [
      job.campaign_id,
    ]);
    room = job.max_pages - (count[0]?.count ?? 0);
  }
  if (room <= 0) return;
  const existing = await tx.query<{ url: string }>(
    'select url from jobs where campaign_id = $1 and url = any($2::text[])',
    [job.campaign_id, [...candidates.keys()]],
  );
  for (const row of existing) candidates.delete(row.url);
  // Sorted, so two batches inserting overlapping links take the unique-index locks in the same order.
  const sorted = [...candidates.values()].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0));
  await enqueueJobs(tx, job.campaign_id, sorted.slice(0, room), settings, { recordRefusals: true });
}
