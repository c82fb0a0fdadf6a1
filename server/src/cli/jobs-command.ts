import { BaseError } from '@protocol/errors';
import { type WorkItem, workItemListSchema, workItemRetrySchema, workItemStateSchema } from '@protocol/work-queue';
import type { adminClient } from './admin-client';

interface JobsOptions {
  state?: string | undefined;
  kind?: string | undefined;
  limit?: string | undefined;
  json?: boolean | undefined;
}

type AdminClient = ReturnType<typeof adminClient>;
type Print = (data: unknown, text: string) => void;

/** `jobs [--state S] [--kind K] [--limit N]`: counts by state, then the newest items. */
export async function listJobs(admin: AdminClient, values: JobsOptions, print: Print): Promise<number> {
  const query = new URLSearchParams();
  if (values.state !== undefined) {
    const state = workItemStateSchema.safeParse(values.state);
    if (!state.success) {
      throw new BaseError('bad_request', `--state must be one of ${workItemStateSchema.options.join(', ')}.`);
    }
    query.set('state', state.data);
  }
  if (values.kind !== undefined) query.set('kind', values.kind);
  if (values.limit !== undefined) query.set('limit', values.limit);
  const list = await admin.call('GET', `/v1/admin/jobs?${query}`, workItemListSchema);
  const { counts } = list;
  const header = `queued ${counts.queued}  running ${counts.running}  done ${counts.done}  failed ${counts.failed}\n`;
  const lines = list.items.map(formatItem);
  print(list, `${header}${lines.length > 0 ? `${lines.join('\n')}\n` : 'No work items match.\n'}`);
  return 0;
}

/** `jobs retry ID`: queue a failed item again, due now. */
export async function retryJob(admin: AdminClient, id: string | undefined, print: Print): Promise<number> {
  if (!id) throw new BaseError('bad_request', 'jobs retry needs the ITEM_ID (see jobs --state failed).');
  const retried = await admin.call('POST', `/v1/admin/jobs/${encodeURIComponent(id)}/retry`, workItemRetrySchema);
  const { item } = retried;
  print(
    retried,
    retried.alreadyQueued
      ? `The same work (${item.kind} ${item.key}) was queued again since, as item ${item.id}: it is due now.\n`
      : `Re-queued item ${item.id} (${item.kind} ${item.key}), due now, with ${item.maxAttempts} fresh attempts.\n`,
  );
  return 0;
}

/** One line per item: id, state, kind and key, attempts, when, and the last error when there is one. */
function formatItem(item: WorkItem): string {
  const when =
    item.state === 'queued'
      ? `due ${item.runAt}`
      : item.state === 'running'
        ? `on ${item.lockedBy ?? '?'} until ${item.lockedUntil ?? '?'}`
        : `finished ${item.finishedAt ?? '?'}${item.lockedBy ? ` on ${item.lockedBy}` : ''}`;
  const error = item.lastError ? `\n      last error: ${item.lastError.split('\n')[0]}` : '';
  return `#${item.id}  ${item.state.padEnd(7)}  ${item.kind} ${item.key}  attempts ${item.attempts}/${item.maxAttempts}  ${when}${error}`;
}
