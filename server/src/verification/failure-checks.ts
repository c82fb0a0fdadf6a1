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
    const changed = await db.query<{ verdict: string }>(
      fetched.ok
        ? // Opened again only for the copies it still lacks (a page may have come from another lease meanwhile),
          // and only while its campaign takes work; otherwise the failure is left as it is, and so marked.
          `update jobs j set failure_check = case when reopen then 'refuted' else 'moot' end,
                  state = case when reopen then 'queued' else j.state end,
                  open_slots = case when reopen then j.copies_wanted - j.copies_received else j.open_slots end,
                  available_at = case when reopen then now() else j.available_at end,
                  failure_reason = case when reopen
                                        then 'reported failed, but the server fetched it: ' || coalesce(j.failure_reason, '')
                                        else j.failure_reason end
             from (select j2.id, j2.state = 'failed' and j2.copies_received < j2.copies_wanted
                          and c.state in ('active', 'paused') as reopen
                     from jobs j2 join campaigns c on c.id = j2.campaign_id where j2.id = $1) as t
            where j.id = t.id and j.failure_check = 'due' returning j.failure_check as verdict`
        : `update jobs set failure_check = 'confirmed' where id = $1 and failure_check = 'due' returning failure_check as verdict`,
      [job.id],
    );
    const verdict = changed[0]?.verdict;
    if (verdict === 'refuted' || verdict === 'confirmed') outcome[verdict] += 1;
  }
  return outcome;
}
