import type { WorkItem, WorkItemList, WorkItemListQuery, WorkItemState } from '@protocol/work-queue';
import type { Queryable } from '../db/database';

interface WorkItemRow {
  id: string;
  kind: string;
  key: string;
  payload: string;
  state: WorkItemState;
  run_at: Date;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  locked_by: string | null;
  locked_until: Date | null;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
}

const columns = `id::text as id, kind, key, payload::text as payload, state, run_at, attempts, max_attempts, last_error,
  locked_by, locked_until, created_at, updated_at, finished_at`;

const toWorkItem = (row: WorkItemRow): WorkItem => ({
  id: row.id,
  kind: row.kind,
  key: row.key,
  payload: JSON.parse(row.payload) as unknown,
  state: row.state,
  runAt: row.run_at.toISOString(),
  attempts: row.attempts,
  maxAttempts: row.max_attempts,
  lastError: row.last_error,
  lockedBy: row.locked_by,
  lockedUntil: row.locked_until?.toISOString() ?? null,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  finishedAt: row.finished_at?.toISOString() ?? null,
});

/** What operators see of the work queue, and the one change they make to it (re-queue a failed item). */
export function workItemRepository(tx: Queryable) {
  return {
    async findById(id: string): Promise<WorkItem | undefined> {
      const rows = await tx.query<WorkItemRow>(`select ${columns} from work_items where id = $1::bigint`, [id]);
      return rows[0] && toWorkItem(rows[0]);
    },

    /** Newest first, filtered by state and kind; counts per state for the kind (or all kinds). */
    async list(query: WorkItemListQuery): Promise<WorkItemList> {
      const rows = await tx.query<WorkItemRow>(
        `select ${columns} from work_items
          where ($1::text is null or state = $1) and ($2::text is null or kind = $2)
          order by id desc limit $3::int`,
        [query.state ?? null, query.kind ?? null, query.limit],
      );
      const counted = await tx.query<{ state: WorkItemState; count: number }>(
        `select state, count(*)::int as count from work_items where ($1::text is null or kind = $1) group by state`,
        [query.kind ?? null],
      );
      const count = (state: WorkItemState) => counted.find((row) => row.state === state)?.count ?? 0;
      return {
        counts: { queued: count('queued'), running: count('running'), done: count('done'), failed: count('failed') },
        items: rows.map(toWorkItem),
      };
    },

    /**
     * Queues a failed item again with fresh attempts, due now. When the same work was queued since, that
     * item is made due now instead (one queued item per kind and key) and the failed one stays as it is.
     * Undefined when there is no such item; the item as it is when it is not failed.
     */
    async retryFailed(
      id: string,
    ): Promise<{ outcome: 'requeued' | 'already_queued' | 'not_failed'; item: WorkItem } | undefined> {
      const found = await tx.query<WorkItemRow>(`select ${columns} from work_items where id = $1::bigint for update`, [
        id,
      ]);
      const item = found[0];
      if (!item) return undefined;
      if (item.state !== 'failed') return { outcome: 'not_failed', item: toWorkItem(item) };
      const queued = await tx.query<WorkItemRow>(
        `update work_items set run_at = least(run_at, now()), updated_at = now()
          where kind = $1 and key = $2 and state = 'queued' returning ${columns}`,
        [item.kind, item.key],
      );
      if (queued[0]) return { outcome: 'already_queued', item: toWorkItem(queued[0]) };
      const requeued = await tx.query<WorkItemRow>(
        `update work_items set state = 'queued', attempts = 0, run_at = now(), finished_at = null, updated_at = now()
          where id = $1::bigint returning ${columns}`,
        [id],
      );
      return { outcome: 'requeued', item: toWorkItem(requeued[0] as WorkItemRow) };
    },
  };
}
