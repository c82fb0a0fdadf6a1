import type { PointsByDay } from '@protocol/contributors';

export type DayPoints = PointsByDay['days'][number];

/** The UTC day `offset` days before `today`, as YYYY-MM-DD. */
function utcDay(today: Date, offset: number): string {
  const day = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - offset));
  return day.toISOString().slice(0, 10);
}

/**
 * One row per UTC day for the `days` days ending `today`, oldest first: the server's rows where it sent
 * them, zeros for any day it left out, so the chart's bars always stand for consecutive days.
 */
export function shapePointsByDay(rows: readonly DayPoints[], days: number, today: Date): DayPoints[] {
  const byDay = new Map(rows.map((row) => [row.day, row]));
  return Array.from({ length: days }, (_, index) => {
    const day = utcDay(today, days - 1 - index);
    const row = byDay.get(day);
    return { day, verified: row?.verified ?? 0, pending: row?.pending ?? 0, rejected: row?.rejected ?? 0 };
  });
}

/** The top of the chart's scale: the tallest day's stack, rounded up to a figure easy to read off (1, 2, 5 × 10^n). */
export function chartTop(rows: readonly DayPoints[]): number {
  const tallest = Math.max(0, ...rows.map((row) => row.verified + row.pending + row.rejected));
  if (tallest === 0) return 1;
  const power = 10 ** Math.floor(Math.log10(tallest));
  const step = [1, 2, 5, 10].find((factor) => factor * power >= tallest) ?? 10;
  return step * power;
}

/** What one day's bar says to a screen reader. */
export function describeDay(row: DayPoints): string {
  return `${row.day}: ${row.verified} verified, ${row.pending} pending, ${row.rejected} rejected`;
}
