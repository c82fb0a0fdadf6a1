import { type FetchLogRow, fetchLogRowSchema, type GleanerDb } from './db';
import { logger } from './logger';

/** The most recent fetches made from the contributor's IP, newest first; rows that do not validate are skipped and logged. */
export async function listRecentFetches(db: GleanerDb, limit = 100): Promise<FetchLogRow[]> {
  const rows = await db.fetchLog.orderBy('at').reverse().limit(limit).toArray();
  return rows.flatMap((row) => {
    const parsed = fetchLogRowSchema.safeParse(row);
    if (parsed.success) return [parsed.data];
    logger.warn('Skipped an unreadable fetch log row.', { row, issues: parsed.error.issues });
    return [];
  });
}
