import { describe, expect, it } from 'vitest';
import { positionBias } from './position-bias';
import { seededRandom } from './synthetic-crowd';
import type { PairwiseLabel } from './types';

/** `count` labels by one worker; the server's random left/right order comes from the seeded PRNG. */
function labelsOf(
  worker: string,
  count: number,
  choose: (shownLeft: 'a' | 'b', index: number) => PairwiseLabel['preferred'],
) {
  const random = seededRandom(worker.length * 7919 + count);
  return Array.from({ length: count }, (_, index): PairwiseLabel => {
    const shownLeft = random() < 0.5 ? 'a' : 'b';
    return {
      worker,
      item: `i${index}`,
      a: `x${index}`,
      b: `y${index}`,
      preferred: choose(shownLeft, index),
      shownLeft,
    };
  });
}

describe('positionBias', () => {
  it('flags a labeler who always picks the answer shown on the left', () => {
    const [report] = positionBias(labelsOf('lefty', 40, (shownLeft) => shownLeft));
    expect(report).toMatchObject({ worker: 'lefty', decisive: 40, leftChoices: 40, leftShare: 1, biased: true });
    expect(report?.pValue).toBeLessThan(1e-9);
  });

  it('does not flag a labeler who picks on content, even one who always prefers answer a', () => {
    const random = seededRandom(5);
    const reports = positionBias([
      ...labelsOf('fair', 60, () => (random() < 0.8 ? 'a' : 'b')),
      ...labelsOf('always-a', 60, () => 'a'),
    ]);
    for (const report of reports) {
      expect(report.biased).toBe(false);
      expect(Math.abs((report.leftShare ?? 0) - 0.5)).toBeLessThan(0.2);
    }
  });

  it('leaves ties out of the left share', () => {
    const [report] = positionBias(
      labelsOf('undecided', 12, (shownLeft, index) => (index % 3 === 0 ? 'tie' : shownLeft)),
    );
    expect(report).toMatchObject({ decisive: 8, ties: 4, leftChoices: 8, leftShare: 1 });
  });

  it('waits for enough decisive answers before flagging anyone', () => {
    const strict = { alpha: 0.05, minDecisive: 10 };
    const [few] = positionBias(
      labelsOf('new', 8, (shownLeft) => shownLeft),
      strict,
    );
    expect(few?.pValue).toBeLessThan(0.05);
    expect(few?.biased).toBe(false);
    const [enough] = positionBias(
      labelsOf('new', 10, (shownLeft) => shownLeft),
      strict,
    );
    expect(enough?.biased).toBe(true);
  });
});
