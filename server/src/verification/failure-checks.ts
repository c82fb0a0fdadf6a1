import type { Database } from '../db/database';
import type { ServerPageFetch } from './server-fetch';

/** Reported failures the server checks per verification round: each is one fetch of a buyer's URL, up to the fetch timeout, and audits wait behind the round. */
const checksPerRound = 5;

/**
 * Checks jobs that one device's report failed for good (`jobs.failure_check = 'due'`, set at ingest) with
 * the server's own fetch: when the page comes, the report was wrong (or the site has recovered), and the job
 * is opened again for the devices; when the server's fetch fails too, the failure stands. The fetches run
 * outside any transaction, and each verdict is written only if the job is still due, so two server
 * processes checking the same job at once change it once.
 */
export async function checkReportedFailures(
  db: Database,
  fetchPage: (url: string) => Promise<ServerPageFetch>,
): Promise<{ confirmed: number; refuted: number }> {
  const due = await db.query<{ id: string; url: string }>(
    `select id::text as id, url from jobs where failure_check = 'due' order by id limit $1`,
    [checksPerRound],
  );
  const outcome = { confirmed: 0, refuted: 0 };
  for (const job of due) {
    const fetched = await fetchPage(job.url);
    const changed = await db.query(
      fetched.ok
        ? `update jobs set failure_check = 'refuted', state = 'queued', open_slots = 1, available_at = now(),
                  failure_reason = 'reported failed, but the server fetched it: ' || coalesce(failure_reason, '')
            where id = $1 and failure_check = 'due' and state = 'failed' returning 1`
        : `update jobs set failure_check = 'confirmed' where id = $1 and failure_check = 'due' returning 1`,
      [job.id],
    );
    if (changed.length > 0) outcome[fetched.ok ? 'refuted' : 'confirmed'] += 1;
  }
  return outcome;
}
