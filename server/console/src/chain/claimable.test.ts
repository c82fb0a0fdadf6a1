import { describe, expect, it } from 'vitest';
import { computeClaimable, epochsOfClaimable, formatTokenAmount } from './claimable';

const glr = 10n ** 18n;

describe('claimable tokens', () => {
  it('is the proof’s cumulative amount minus what the distributor already paid', () => {
    expect(computeClaimable({ cumulativeAmount: (5n * glr).toString() }, 2n * glr)).toEqual({
      cumulative: 5n * glr,
      claimed: 2n * glr,
      amount: 3n * glr,
    });
  });

  it('is zero, never negative, once everything is claimed', () => {
    expect(computeClaimable({ cumulativeAmount: '100' }, 100n).amount).toBe(0n);
    expect(computeClaimable({ cumulativeAmount: '100' }, 150n).amount).toBe(0n);
  });

  it('comes from the newest epochs not claimed yet, listed oldest first', () => {
    const epochs = [
      { epoch: 1, amount: '40' },
      { epoch: 2, amount: '0' },
      { epoch: 3, amount: '25' },
      { epoch: 4, amount: '35' },
    ];
    expect(epochsOfClaimable(epochs, 60n).map((e) => e.epoch)).toEqual([3, 4]);
    expect(epochsOfClaimable(epochs, 100n).map((e) => e.epoch)).toEqual([1, 3, 4]);
    expect(epochsOfClaimable(epochs, 0n)).toEqual([]);
  });

  it('formats base units with the token’s decimals and symbol, grouped and rounded down', () => {
    expect(formatTokenAmount(1234567n * glr, 18, 'GLR')).toBe('1,234,567 GLR');
    expect(formatTokenAmount('1500000000000000000', 18, 'GLR')).toBe('1.5 GLR');
    expect(formatTokenAmount(123456789n, 6, 'USDC')).toBe('123.4567 USDC');
    expect(formatTokenAmount(0n, 18, 'GLR')).toBe('0 GLR');
    expect(formatTokenAmount(1n, 18, 'GLR')).toBe('< 0.0001 GLR');
  });
});
