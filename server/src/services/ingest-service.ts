import { createHash } from 'node:crypto';
import { labelResultSchema } from '@protocol/labeling';
import {
  type FailedFetch,
  type FetchedPage,
  normalizeText,
  type ResultAck,
  type ResultBatchAck,
  scrapeResultSchema,
} from '@protocol/results';
import { checkUrl } from '@protocol/url-guard';
import type { z } from 'zod';
import type { Database, Queryable } from '../db/database';
import { ledgerRepository, pointsPerPage } from '../repositories/ledger-repository';
import type { ScrapingSettings } from '../scraping-settings';
import { enqueueJobs } from './campaign-service';
import { applyLabel } from './label-ingest';

interface AssignmentRow {
  id: string;
  job_id: string;
  state: string;
  job_state: string;
  canary_sha256: string | null;
  copies_wanted: number;
  campaign_id: string;
  depth: number;
  origin: string;
  max_depth: number;
  max_pages: number | null;
  keep_raw_html: boolean;
}

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

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

const describeIssues = (issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>) =>
  issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || 'result'}: ${issue.message}`)
    .join('; ');

/**
 * Ingests a device's batch of results. Each record is checked on its own and applied inside its own
 * savepoint, so a bad record is rejected with a reason while the rest are kept. A batch id seen before
 * gets its first answer again: nothing is stored or credited twice.
 */
export function ingestService(
  db: Database,
  settings: ScrapingSettings,
  hooks: { onLabels?: (projectIds: string[]) => void } = {},
) {
  return {
    async ingest(device: string, batchId: string, results: readonly unknown[]): Promise<ResultBatchAck> {
      const earlier = await db.query<{ device: string; acks: string }>(
        'select device, acks from result_batches where batch_id = $1',
        [batchId],
      );
      if (earlier[0]) {
        if (earlier[0].device === device) return { batchId, acks: JSON.parse(earlier[0].acks) as ResultAck[] };
        return {
          batchId,
          acks: results.map((_, index) => ({
            index,
            assignmentId: null,
            status: 'rejected' as const,
            reason: 'this batch id was used by another device',
          })),
        };
      }

      const acks: ResultAck[] = new Array(results.length);
      const parsed: Array<{ index: number; result: FetchedPage | FailedFetch }> = [];
      const labels: Array<{ index: number; label: z.infer<typeof labelResultSchema> }> = [];
      const touchedProjects = new Set<string>();
      results.forEach((raw, index) => {
        if (typeof raw === 'object' && raw !== null && (raw as { kind?: unknown }).kind === 'label') {
          const label = labelResultSchema.safeParse(raw);
          if (label.success) labels.push({ index, label: label.data });
          else {
            const assignmentId = (raw as { assignmentId?: unknown }).assignmentId;
            acks[index] = {
              index,
              assignmentId: typeof assignmentId === 'string' ? assignmentId : null,
              status: 'rejected',
              reason: describeIssues(label.error.issues),
            };
          }
          return;
        }
        const result = scrapeResultSchema.safeParse(raw);
        if (!result.success) {
          const assignmentId =
            typeof raw === 'object' &&
            raw !== null &&
            typeof (raw as { assignmentId?: unknown }).assignmentId === 'string'
              ? (raw as { assignmentId: string }).assignmentId
              : null;
          acks[index] = { index, assignmentId, status: 'rejected', reason: describeIssues(result.error.issues) };
        } else {
          parsed.push({ index, result: result.data });
        }
      });

      await db.transaction(async (tx) => {
        const ids = parsed.map((entry) => entry.result.assignmentId).filter((id) => /^\d{1,18}$/.test(id));
        const rows = await tx.query<AssignmentRow>(
          `select a.id::text as id, a.job_id::text as job_id, a.state, j.state as job_state, j.canary_sha256,
                  j.copies_wanted, j.campaign_id, j.depth, j.origin, c.max_depth, c.max_pages, c.keep_raw_html
             from assignments a join jobs j on j.id = a.job_id join campaigns c on c.id = j.campaign_id
            where a.id = any($1::bigint[]) and a.device = $2
            for update of a`,
          [ids, device],
        );
        const assignments = new Map(rows.map((row) => [row.id, row]));
        for (const { index, result } of parsed) {
          const assignment = assignments.get(result.assignmentId);
          const reject = (reason: string) => {
            acks[index] = { index, assignmentId: result.assignmentId, status: 'rejected', reason };
          };
          if (!assignment) {
            reject(`assignment ${result.assignmentId} is not a lease of this device`);
            continue;
          }
          if (assignment.job_id !== result.jobId) {
            reject(`assignment ${result.assignmentId} is for job ${assignment.job_id}, not ${result.jobId}`);
            continue;
          }
          if (assignment.state === 'submitted' || assignment.state === 'failed') {
            acks[index] = { index, assignmentId: result.assignmentId, status: 'duplicate' };
            continue;
          }
          await tx.query('savepoint result');
          try {
            const ack =
              result.outcome === 'fetched'
                ? await applyPage(tx, device, assignment, result, settings)
                : await applyFailure(tx, assignment, result, settings);
            await tx.query('release savepoint result');
            acks[index] = { index, assignmentId: result.assignmentId, ...ack };
          } catch (error) {
            await tx.query('rollback to savepoint result');
            throw error;
          }
        }
        for (const { index, label } of labels) {
          await tx.query('savepoint label');
          try {
            const { projectId, ...ack } = await applyLabel(tx, device, label);
            await tx.query('release savepoint label');
            acks[index] = { index, assignmentId: label.assignmentId, ...ack };
            if (projectId) touchedProjects.add(projectId);
          } catch (error) {
            await tx.query('rollback to savepoint label');
            throw error;
          }
        }
        await tx.query('insert into result_batches (batch_id, device, acks) values ($1, $2, $3)', [
          batchId,
          device,
          JSON.stringify(acks),
        ]);
      });
      if (touchedProjects.size > 0) hooks.onLabels?.([...touchedProjects]);
      return { batchId, acks };
    },
  };
}

async function applyPage(
  tx: Queryable,
  device: string,
  assignment: AssignmentRow,
  page: FetchedPage,
  settings: ScrapingSettings,
): Promise<Pick<ResultAck, 'status' | 'reason'>> {
  // Browsers can cut a string inside a surrogate pair; store well-formed text and hash what is stored.
  const text = page.text.toWellFormed();
  const textSha256 = sha256Hex(normalizeText(text));
  if (textSha256 !== page.textSha256) {
    return { status: 'rejected', reason: 'textSha256 is not the SHA-256 of the normalized text' };
  }
  const finalUrl = checkUrl(page.finalUrl, { allowedTestOrigins: settings.testOrigins });
  if (!finalUrl.ok) return { status: 'rejected', reason: `finalUrl breaks the URL rules: ${finalUrl.reason}` };
  const html =
    assignment.keep_raw_html && page.html !== undefined
      ? page.html.toWellFormed().slice(0, settings.maxPageBytes)
      : null;

  // One round trip for the page and the bookkeeping it implies (ingest is the hot path): store it,
  // close the assignment, mark the job fetched and clear the origin's error streak.
  const inserted = await tx.query<{ inserted: number }>(
    `with page as (
       insert into pages (job_id, assignment_id, device, campaign_id, url, final_url, http_status, content_type,
                          fetched_at, bytes_fetched, title, text, lang, canonical_url, text_sha256, html)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
       on conflict (job_id, device) do nothing returning id),
     assignment as (update assignments set state = 'submitted' where id = $2),
     job as (update jobs set state = 'fetched' where id = $1 and state = 'queued' and exists (select 1 from page)),
     host as (update hosts set consecutive_errors = 0
               where origin = $17 and consecutive_errors > 0 and exists (select 1 from page))
     select count(*)::int as inserted from page`,
    [
      assignment.job_id,
      assignment.id,
      device,
      assignment.campaign_id,
      page.url,
      finalUrl.url,
      page.httpStatus,
      page.contentType,
      page.fetchedAt,
      page.bytesFetched,
      page.title.toWellFormed(),
      text,
      page.lang,
      page.canonicalUrl,
      textSha256,
      html,
      assignment.origin,
    ],
  );
  if (inserted[0]?.inserted !== 1) return { status: 'duplicate' };
  if (assignment.state === 'expired') {
    // The slot this lease held went back to the queue when it expired; the page came after all.
    await tx.query('update jobs set open_slots = greatest(open_slots - 1, 0) where id = $1', [assignment.job_id]);
  }

  const ledger = ledgerRepository(tx);
  const reference = `scrape:${assignment.job_id}:${device}`;
  if (assignment.canary_sha256 !== null) {
    const passed = assignment.canary_sha256 === textSha256;
    await tx.query('update pages set verification = $2 where job_id = $1 and device = $3', [
      assignment.job_id,
      passed ? 'verified' : 'rejected',
      device,
    ]);
    await ledger.credit({
      device,
      reference,
      reason: 'canary',
      points: passed ? pointsPerPage : 0,
      state: passed ? 'verified' : 'rejected',
      rejectionReason: passed ? undefined : 'check page: the text uploaded differs from the page’s known content',
      url: page.url,
    });
    await ledger.adjustTrust(device, passed);
    if (passed) await ledger.verifyPendingOf(device);
    return { status: 'accepted' };
  }
  if (assignment.copies_wanted > 1) {
    await ledger.credit({
      device,
      reference,
      reason: 'scrape_sampled',
      points: pointsPerPage,
      state: 'pending',
      url: page.url,
    });
    await compareCopies(tx, assignment.job_id);
  } else {
    await ledger.creditScaledByTrust({ device, reference, reason: 'scrape', points: pointsPerPage, url: page.url });
  }
  if (page.links.length > 0 && assignment.depth < assignment.max_depth) {
    await followLinks(tx, assignment, page, settings);
  }
  return { status: 'accepted' };
}

/**
 * Compares the copies of a sampled job once two or more devices uploaded it: the hash held by a
 * majority is verified and the others rejected (lowering their devices' trust); a tie asks one more device.
 */
async function compareCopies(tx: Queryable, jobId: string): Promise<void> {
  const copies = await tx.query<{ device: string; text_sha256: string; url: string }>(
    `select device, text_sha256, url from pages where job_id = $1 and verification = 'unverified' order by id`,
    [jobId],
  );
  if (copies.length < 2) return;
  const tally = new Map<string, number>();
  for (const copy of copies) tally.set(copy.text_sha256, (tally.get(copy.text_sha256) ?? 0) + 1);
  const [winner, votes] = [...tally.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
  if (votes * 2 <= copies.length) {
    if (copies.length < 3) {
      await tx.query('update jobs set copies_wanted = copies_wanted + 1, open_slots = open_slots + 1 where id = $1', [
        jobId,
      ]);
    }
    return;
  }
  const ledger = ledgerRepository(tx);
  for (const copy of copies) {
    const agreed = copy.text_sha256 === winner;
    const reference = `scrape:${jobId}:${copy.device}`;
    await ledger.settle(
      reference,
      agreed ? 'verified' : 'rejected',
      agreed ? undefined : 'another device fetched this page and its text differs from yours',
    );
    await tx.query('update pages set verification = $3 where job_id = $1 and device = $2', [
      jobId,
      copy.device,
      agreed ? 'verified' : 'rejected',
    ]);
    await ledger.adjustTrust(copy.device, agreed);
    if (agreed) await ledger.verifyPendingOf(copy.device);
  }
  await tx.query(`update jobs set state = 'verified', open_slots = 0 where id = $1`, [jobId]);
}

/** Queues the same-origin links of a page one level deeper, within the campaign's page cap. */
async function followLinks(tx: Queryable, assignment: AssignmentRow, page: FetchedPage, settings: ScrapingSettings) {
  const candidates = new Map<string, { url: string; origin: string; depth: number }>();
  for (const link of page.links) {
    const verdict = checkUrl(link, { allowedTestOrigins: settings.testOrigins });
    if (!verdict.ok) continue;
    const origin = new URL(verdict.url).origin;
    if (origin !== assignment.origin) continue;
    candidates.set(verdict.url, { url: verdict.url, origin, depth: assignment.depth + 1 });
  }
  if (candidates.size === 0) return;
  let room = Number.POSITIVE_INFINITY;
  if (assignment.max_pages !== null) {
    const count = await tx.query<{ count: number }>('select count(*)::int as count from jobs where campaign_id = $1', [
      assignment.campaign_id,
    ]);
    room = assignment.max_pages - (count[0]?.count ?? 0);
  }
  if (room <= 0) return;
  const existing = await tx.query<{ url: string }>(
    'select url from jobs where campaign_id = $1 and url = any($2::text[])',
    [assignment.campaign_id, [...candidates.keys()]],
  );
  for (const row of existing) candidates.delete(row.url);
  await enqueueJobs(tx, assignment.campaign_id, [...candidates.values()].slice(0, room), settings, {
    recordRefusals: true,
  });
}

async function applyFailure(
  tx: Queryable,
  assignment: AssignmentRow,
  failure: FailedFetch,
  settings: ScrapingSettings,
): Promise<Pick<ResultAck, 'status' | 'reason'>> {
  await tx.query(`update assignments set state = 'failed' where id = $1`, [assignment.id]);
  const reason = `${failure.error}: ${failure.detail}`.slice(0, 500);
  const overloaded = failure.httpStatus === 429 || failure.httpStatus === 503;
  if (overloaded || failure.error === 'timeout' || failure.error === 'network_error') {
    // Back off the whole origin for every device: Retry-After, or exponential from the politeness delay.
    await tx.query(
      `update hosts set consecutive_errors = consecutive_errors + 1,
              next_fetch_at = greatest(next_fetch_at, now() + make_interval(secs => greatest(
                $2::double precision,
                crawl_delay_ms / 1000.0 * power(2, least(consecutive_errors + 1, 10)))))
        where origin = $1`,
      [assignment.origin, failure.retryAfterSeconds ?? 0],
    );
  }
  if (assignment.job_state !== 'queued') return { status: 'accepted' };
  const permanent =
    permanentFailures.has(failure.error) ||
    (failure.error === 'http_error' && !overloaded && (failure.httpStatus ?? 500) < 500);
  await tx.query(
    `update jobs set attempts = attempts + 1,
            state = case when $2 or attempts + 1 >= $3 then 'failed' else state end,
            failure_reason = $4,
            open_slots = case when $2 or attempts + 1 >= $3 then 0 when $6 then open_slots + 1 else open_slots end,
            available_at = now() + make_interval(secs => $5)
      where id = $1`,
    // A lease that had already expired gave its slot back then; reopening it again would make two.
    [
      assignment.job_id,
      permanent,
      maxAttempts,
      reason,
      Math.ceil(settings.politenessMs / 1000) * 5,
      assignment.state === 'leased',
    ],
  );
  return { status: 'accepted' };
}
