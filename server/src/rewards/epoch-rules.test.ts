import { describe, expect, it } from 'vitest';
import { applyEpochRules, type CountedPoints, type PreviousStanding } from './epoch-rules';

const a = '0x000000000000000000000000000000000000000a';
const b = '0x000000000000000000000000000000000000000b';
const c = '0x000000000000000000000000000000000000000c';

function apply(
  poolPerEpoch: bigint,
  counted: Record<string, CountedPoints>,
  previous: Record<string, PreviousStanding> = {},
  carriedIn = 0n,
) {
  return applyEpochRules({
    poolPerEpoch,
    carriedIn,
    previous: new Map(Object.entries(previous)),
    counted: new Map(Object.entries(counted)),
  });
}

describe('reward rules', () => {
  it('splits the pool pro rata with floor and carries the rounding remainder', () => {
    const result = apply(100n, {
      [a]: { earned: 1, reversed: 0 },
      [b]: { earned: 1, reversed: 0 },
      [c]: { earned: 1, reversed: 0 },
    });
    expect(result.lines.map((line) => line.amount)).toEqual([33n, 33n, 33n]);
    expect(result.carriedOut).toBe(1n);
    expect(result.pointsTotal).toBe(3);
  });

  it('adds the carried remainder to the next pool and the amounts to each cumulative', () => {
    const result = apply(
      100n,
      { [a]: { earned: 1, reversed: 0 } },
      { [a]: { cumulative: 33n, debtOut: 0 }, [b]: { cumulative: 33n, debtOut: 0 } },
      1n,
    );
    expect(result.pool).toBe(101n);
    expect(result.lines).toMatchObject([
      { wallet: a, amount: 101n, cumulative: 134n },
      // A wallet paid before stays in the tree, with nothing new.
      { wallet: b, amount: 0n, cumulative: 33n },
    ]);
    expect(result.carriedOut).toBe(0n);
  });

  it('never pays below zero: a reversal larger than the earnings becomes debt, deducted next time', () => {
    const first = apply(100n, { [a]: { earned: 2, reversed: 5 }, [b]: { earned: 4, reversed: 0 } });
    expect(first.lines).toMatchObject([
      { wallet: a, points: 0, debtOut: 3, amount: 0n },
      { wallet: b, points: 4, debtOut: 0, amount: 100n },
    ]);
    const second = apply(
      100n,
      { [a]: { earned: 10, reversed: 0 } },
      Object.fromEntries(
        first.lines.map((line) => [line.wallet, { cumulative: line.cumulative, debtOut: line.debtOut }]),
      ),
    );
    expect(second.lines[0]).toMatchObject({ wallet: a, earned: 10, debtIn: 3, points: 7, debtOut: 0, amount: 100n });
  });

  it('carries the whole pool when nobody has points to pay', () => {
    const result = apply(100n, { [a]: { earned: 0, reversed: 4 } }, { [a]: { cumulative: 50n, debtOut: 1 } }, 7n);
    expect(result.pointsTotal).toBe(0);
    expect(result.carriedOut).toBe(107n);
    expect(result.lines[0]).toMatchObject({ debtIn: 1, debtOut: 5, amount: 0n, cumulative: 50n });
  });

  it('keeps exact integer amounts for pools far past 2^53', () => {
    const pool = 10n ** 30n + 7n;
    const result = apply(pool, { [a]: { earned: 2, reversed: 0 }, [b]: { earned: 1, reversed: 0 } });
    expect(result.lines.map((line) => line.amount)).toEqual([(pool * 2n) / 3n, pool / 3n]);
    expect(result.lines.reduce((sum, line) => sum + line.amount, result.carriedOut)).toBe(pool);
  });
});
