import type { LeasedTask } from '@protocol/labeling';
import { type GleanerDb, rowSchemas, type TaskRow } from './db';
import { logger } from './logger';

/** Tasks kept leased ahead: enough to keep labeling for a while offline, few enough not to hoard items. */
export const prefetchSize = 5;
/** The queue is refilled when fewer than this many tasks remain. */
export const refillBelow = 2;
/**
 * A task this close to the end of its lease is dropped rather than shown: the labeler needs time to
 * answer, and the server may lease the item to someone else once the lease ends.
 */
export const expiryMarginMs = 60_000;

/** Adds freshly leased tasks to the queue. */
export async function queueTasks(db: GleanerDb, tasks: readonly LeasedTask[], leasedAt: number): Promise<void> {
  const rows: TaskRow[] = tasks.map((task) => ({
    assignmentId: task.assignmentId,
    leasedAt,
    expiresAt: Date.parse(task.expiresAt),
    task,
  }));
  await db.tasks.bulkPut(rows);
}

/** Drops the tasks whose lease ends within the margin; returns how many. */
export async function dropExpiredTasks(db: GleanerDb, now: number): Promise<number> {
  const dropped = await db.tasks
    .where('expiresAt')
    .belowOrEqual(now + expiryMarginMs)
    .delete();
  if (dropped > 0) logger.info(`${dropped} labeling task(s) ran out before they were answered; dropped.`);
  return dropped;
}

/** The tasks still worth showing, oldest lease first; rows that no longer validate are dropped. */
export async function queuedTasks(db: GleanerDb, now: number): Promise<LeasedTask[]> {
  const rows = await db.tasks.orderBy('leasedAt').toArray();
  const tasks: LeasedTask[] = [];
  for (const row of rows) {
    const parsed = rowSchemas.tasks.safeParse(row);
    if (!parsed.success) {
      logger.warn(`A queued labeling task no longer validates; dropped.`, parsed.error.issues);
      await db.tasks.delete(row.assignmentId);
      continue;
    }
    if (parsed.data.expiresAt > now + expiryMarginMs) tasks.push(parsed.data.task);
  }
  return tasks;
}
