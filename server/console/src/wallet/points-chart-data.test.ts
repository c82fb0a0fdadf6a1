import { describe, expect, it } from 'vitest';
import { chartTop, describeDay, shapePointsByDay } from './points-chart-data';

const today = new Date('2026-03-02T23:30:00Z');

describe('points per day for the chart', () => {
  it('has every day of the period, oldest first, with zeros for days the server left out', () => {
    const rows = shapePointsByDay(
      [
        { day: '2026-03-02', verified: 5, pending: 1, rejected: 0 },
        { day: '2026-02-27', verified: 2, pending: 0, rejected: 3 },
      ],
      5,
      today,
    );
    expect(rows.map((row) => row.day)).toEqual(['2026-02-26', '2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']);
    expect(rows[1]).toEqual({ day: '2026-02-27', verified: 2, pending: 0, rejected: 3 });
    expect(rows[0]).toEqual({ day: '2026-02-26', verified: 0, pending: 0, rejected: 0 });
    expect(rows[4]?.verified).toBe(5);
  });

  it('keeps thirty days across a month end and drops rows outside the period', () => {
    const rows = shapePointsByDay([{ day: '2026-01-01', verified: 9, pending: 0, rejected: 0 }], 30, today);
    expect(rows).toHaveLength(30);
    expect(rows[0]?.day).toBe('2026-02-01');
    expect(new Set(rows.map((row) => row.day)).size).toBe(30);
    expect(rows.every((row) => row.verified === 0)).toBe(true);
  });

  it('scales to the tallest stacked day, rounded up to 1, 2 or 5 times a power of ten', () => {
    const day = (verified: number, pending: number, rejected: number) => ({ day: 'd', verified, pending, rejected });
    expect(chartTop([day(30, 10, 3)])).toBe(50);
    expect(chartTop([day(100, 0, 0)])).toBe(100);
    expect(chartTop([day(1, 0, 0), day(0, 0, 1)])).toBe(1);
    expect(chartTop([day(101, 0, 0)])).toBe(200);
    expect(chartTop([day(0, 0, 0)])).toBe(1);
  });

  it('describes a day for screen readers', () => {
    expect(describeDay({ day: '2026-03-01', verified: 4, pending: 2, rejected: 1 })).toBe(
      '2026-03-01: 4 verified, 2 pending, 1 rejected',
    );
  });
});
