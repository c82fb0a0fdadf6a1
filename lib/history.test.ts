import type { DevicePointsByDay } from '@protocol/points';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FetchLogRow } from './db';
import { fetchLogByDay, lastLocalDays, localDayKey, mergeHistory } from './history';
import { createTestDb } from './testing/test-db';

// Days are the person's local days. Paris, around the spring change (30 March 2025: 02:00 → 03:00), shows
// both what "local" means and that a day is not always 24 hours. Node reads TZ again when it changes.
const previousTimeZone = process.env.TZ;
beforeAll(() => {
  process.env.TZ = 'Europe/Paris';
});
afterAll(() => {
  process.env.TZ = previousTimeZone;
});

/** A wall-clock time in Paris (TZ is set before any test runs). */
const paris = (text: string) => {
  const [date = '', time = ''] = text.split('T');
  const [year, month, day] = date.split('-').map(Number);
  const [hours, minutes, seconds] = time.split(':').map(Number);
  return new Date(year ?? 0, (month ?? 1) - 1, day, hours, minutes, seconds).getTime();
};
const row = (at: number, patch: Partial<FetchLogRow> = {}): Omit<FetchLogRow, 'id'> => ({
  kind: 'page',
  at,
  url: 'https://example.com/a',
  status: 200,
  bytes: 1000,
  outcome: 'ok',
  reason: null,
  assignmentId: null,
  rejection: null,
  ...patch,
});

describe('the last 30 local days', () => {
  it('lists every day once, oldest first, ending today, each from local midnight to local midnight', () => {
    const now = paris('2025-04-10T00:10:00');
    const days = lastLocalDays(now);
    expect(days).toHaveLength(30);
    expect(days[0]?.day).toBe('2025-03-12');
    expect(days.at(-1)?.day).toBe('2025-04-10');
    const keys = days.map((day) => day.day);
    expect(new Set(keys).size).toBe(30);
    for (const [i, day] of days.entries()) {
      expect(localDayKey(day.start)).toBe(day.day);
      expect(localDayKey(day.end - 1)).toBe(day.day);
      if (i > 0) expect(day.start).toBe(days[i - 1]?.end);
    }
    const spring = days.find((day) => day.day === '2025-03-30');
    expect(spring && (spring.end - spring.start) / 3_600_000).toBe(23);
    // 00:10 in Paris is still the previous day in UTC: the local day counts.
    expect(new Date(now).toISOString().slice(0, 10)).toBe('2025-04-09');
  });
});

describe('pages and bytes per day from the fetch log', () => {
  it('puts each fetch on its local day, counts kept pages only, and every fetch’s bytes', async () => {
    const db = createTestDb();
    const now = paris('2025-04-10T12:00:00');
    await db.fetchLog.bulkAdd([
      row(paris('2025-04-10T00:05:00')), // today, though yesterday in UTC
      row(paris('2025-04-09T23:55:00'), { bytes: 500 }),
      row(paris('2025-04-09T10:00:00'), { outcome: 'blocked', bytes: 0, status: null }),
      row(paris('2025-04-09T11:00:00'), { outcome: 'discarded', bytes: 7000 }),
      row(paris('2025-04-09T12:00:00'), { kind: 'image', bytes: 300 }),
      row(paris('2025-03-12T00:00:00'), { bytes: 1 }), // the first day shown
      row(paris('2025-03-11T23:59:59'), { bytes: 99 }), // the day before: not shown
    ] as FetchLogRow[]);

    const days = await fetchLogByDay(db, now);
    expect(days).toHaveLength(30);
    const byDay = Object.fromEntries(days.map((day) => [day.day, day]));
    expect(byDay['2025-04-10']).toEqual({ day: '2025-04-10', pages: 1, bytes: 1000 });
    expect(byDay['2025-04-09']).toEqual({ day: '2025-04-09', pages: 1, bytes: 500 + 7000 + 300 });
    expect(byDay['2025-03-12']).toEqual({ day: '2025-03-12', pages: 1, bytes: 1 });
    expect(days.reduce((sum, day) => sum + day.bytes, 0)).toBe(1000 + 7800 + 1);
    expect(days.filter((day) => day.pages === 0 && day.bytes === 0)).toHaveLength(27);
  });
});

describe('the history with the server’s points and labels', () => {
  const local = [
    { day: '2025-04-09', pages: 2, bytes: 10 },
    { day: '2025-04-10', pages: 0, bytes: 0 },
  ];

  it('shows no labels or points (rather than zeros) when the server could not be asked', () => {
    expect(mergeHistory(local, null)).toEqual([
      { day: '2025-04-09', pages: 2, bytes: 10, labels: null, points: null },
      { day: '2025-04-10', pages: 0, bytes: 0, labels: null, points: null },
    ]);
  });

  it('puts the server’s day on the same local day, and a day the page does not show nowhere', () => {
    const server: DevicePointsByDay = {
      timeZone: 'Europe/Paris',
      days: [
        { day: '2025-04-08', verified: 900, pending: 0, rejected: 0, labels: 9 },
        { day: '2025-04-10', verified: 100, pending: 40, rejected: 100, labels: 3 },
      ],
    };
    expect(mergeHistory(local, server)).toEqual([
      { day: '2025-04-09', pages: 2, bytes: 10, labels: 0, points: { verified: 0, pending: 0, rejected: 0 } },
      { day: '2025-04-10', pages: 0, bytes: 0, labels: 3, points: { verified: 100, pending: 40, rejected: 100 } },
    ]);
  });
});
