import type { DevicePointsByDay } from '@protocol/points';
import type { GleanerDb } from './db';
import { startOfLocalDay } from './fetch-log';

/**
 * The history charted in the options page. Days are the person's local days (the browser's clock and time
 * zone), the same "today" as the daily budget and the popup; the server groups points and labels by the same
 * IANA zone, so a day means one thing on both sides, daylight-saving changes included.
 */

/** How many days the options page shows. */
export const historyDayCount = 30;

export interface LocalDay {
  /** YYYY-MM-DD in the person's time zone. */
  day: string;
  /** Local midnight that starts it (ms since 1970). */
  start: number;
  /** Local midnight that ends it: 23 or 25 hours after `start` on a daylight-saving change. */
  end: number;
}

/** The local date of an instant, YYYY-MM-DD. */
export function localDayKey(at: number): string {
  const date = new Date(at);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The last `count` local days up to the one containing `now`, oldest first, every day present. */
export function lastLocalDays(now: number, count: number = historyDayCount): LocalDay[] {
  const days: LocalDay[] = [];
  for (let back = count - 1; back >= 0; back--) {
    // Calendar arithmetic on a local Date, not `- back * 24 h`: a day is not 24 hours twice a year.
    const start = new Date(startOfLocalDay(now));
    start.setDate(start.getDate() - back);
    const end = new Date(start);
    end.setDate(end.getDate() + 1);
    days.push({ day: localDayKey(start.getTime()), start: start.getTime(), end: end.getTime() });
  }
  return days;
}

/** The person's IANA time zone, sent to the server so it groups by the same days. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

export interface LocalDayTotals {
  day: string;
  /** Pages fetched and kept (as "Pages today" counts them; task images are not pages). */
  pages: number;
  /** Bytes received for every fetch, kept or not (as the daily budget counts them). */
  bytes: number;
}

/** Pages and bytes per local day from the fetch log, which is kept until the person deletes it. */
export async function fetchLogByDay(db: GleanerDb, now: number, count: number = historyDayCount) {
  const days = lastLocalDays(now, count);
  const totals = new Map<string, LocalDayTotals>(days.map(({ day }) => [day, { day, pages: 0, bytes: 0 }]));
  const first = days[0]?.start ?? now;
  const last = days.at(-1)?.end ?? now;
  await db.fetchLog
    .where('at')
    .between(first, last, true, false)
    .each((row) => {
      const day = totals.get(localDayKey(row.at));
      if (!day) return;
      day.bytes += row.bytes;
      if (row.outcome === 'ok' && row.kind !== 'image') day.pages += 1;
    });
  return [...totals.values()];
}

export interface HistoryDay extends LocalDayTotals {
  /** From the server; null when it could not be asked (offline, no key yet). */
  labels: number | null;
  points: { verified: number; pending: number; rejected: number } | null;
}

/**
 * The local days with the server's points and labels beside them. A server day the browser does not show
 * (its clock a day apart) is left out rather than put on the wrong day.
 */
export function mergeHistory(local: readonly LocalDayTotals[], server: DevicePointsByDay | null): HistoryDay[] {
  const fromServer = new Map(server?.days.map((row) => [row.day, row]));
  return local.map((day) => {
    const row = server ? fromServer.get(day.day) : undefined;
    if (!server) return { ...day, labels: null, points: null };
    return {
      ...day,
      labels: row?.labels ?? 0,
      points: { verified: row?.verified ?? 0, pending: row?.pending ?? 0, rejected: row?.rejected ?? 0 },
    };
  });
}
