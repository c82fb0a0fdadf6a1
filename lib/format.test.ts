import { describe, expect, it } from 'vitest';
import { formatBytes } from './format';

describe('formatBytes', () => {
  it('uses decimal units with at most one decimal', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(4_200)).toBe('4.2 kB');
    expect(formatBytes(200_000_000)).toBe('200 MB');
    expect(formatBytes(1_000_000_000)).toBe('1 GB');
  });
});
