import type { FetchFailureCode } from '@protocol/results';
import { type FetchLogRow, fetchLogRowSchema, type GleanerDb } from './db';
import { logger } from './logger';

/** A fetch log row before IndexedDB numbers it. */
export type NewFetchLogRow = Omit<FetchLogRow, 'id'>;

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

/** How each failure shows in the fetch log: refused by a rule, fetched and thrown away, or failed. */
export function outcomeOfFailure(code: FetchFailureCode): FetchLogRow['outcome'] {
  switch (code) {
    case 'url_blocked':
    case 'redirect_blocked':
    case 'too_many_redirects':
      return 'blocked';
    case 'private_ip':
    case 'too_large':
    case 'content_type':
    case 'extraction_failed':
      return 'discarded';
    case 'http_error':
    case 'timeout':
    case 'network_error':
    case 'lease_expired':
      return 'error';
  }
}

/** Midnight of the person's local day containing `now`: budgets and "today" start there. */
export function startOfLocalDay(now: number): number {
  const day = new Date(now);
  day.setHours(0, 0, 0, 0);
  return day.getTime();
}

export interface DayTotals {
  /** Pages fetched and kept (images of labeling tasks are not pages). */
  pages: number;
  /** Bytes received for every fetch, kept or not: what the daily budget counts. */
  bytes: number;
}

/** Today's pages and bytes, from the fetch log. */
export async function totalsForToday(db: GleanerDb, now: number): Promise<DayTotals> {
  const totals: DayTotals = { pages: 0, bytes: 0 };
  await db.fetchLog
    .where('at')
    .aboveOrEqual(startOfLocalDay(now))
    .each((row) => {
      totals.bytes += row.bytes;
      if (row.outcome === 'ok' && row.kind !== 'image') totals.pages += 1;
    });
  return totals;
}

/** Fetch log rows whose upload the server rejected, newest first, with its reason. */
export async function listRejectedUploads(db: GleanerDb, limit = 10): Promise<FetchLogRow[]> {
  return db.fetchLog
    .orderBy('at')
    .reverse()
    .filter((row) => row.rejection !== null)
    .limit(limit)
    .toArray();
}
