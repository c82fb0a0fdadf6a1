import { describe, expect, it } from 'vitest';
import { formatRelativeTime } from './relative-time';

const now = Date.parse('2026-03-02T12:00:00Z');

describe('last contact in words', () => {
  it('says how long ago, in the largest whole unit', () => {
    expect(formatRelativeTime('2026-03-02T11:59:30Z', now)).toBe('just now');
    expect(formatRelativeTime('2026-03-02T11:55:00Z', now)).toBe('5 minutes ago');
    expect(formatRelativeTime('2026-03-02T09:00:00Z', now)).toBe('3 hours ago');
    expect(formatRelativeTime('2026-03-01T12:00:00Z', now)).toBe('yesterday');
    expect(formatRelativeTime('2026-02-20T12:00:00Z', now)).toBe('10 days ago');
  });

  it('says when a time is ahead, and a dash for no time', () => {
    expect(formatRelativeTime('2026-03-03T12:00:00Z', now)).toBe('tomorrow');
    expect(formatRelativeTime('not a date', now)).toBe('—');
  });
});
