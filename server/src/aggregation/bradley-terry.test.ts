import { describe, expect, it } from 'vitest';
import { bradleyTerry } from './bradley-terry';
import { calibrationReport } from './calibration';
import { seededRandom } from './synthetic-crowd';
import type { PairwiseLabel } from './types';

const vote = (
  worker: string,
  item: string,
  preferred: PairwiseLabel['preferred'],
  a = 'A',
  b = 'B',
): PairwiseLabel => ({
  worker,
  item,
  a,
  b,
  preferred,
  shownLeft: worker.length % 2 === 0 ? 'a' : 'b',
});

/** Comparisons of models with known scores: P(i beats j) = 1 / (1 + e^(s_j − s_i)), with some ties. */
function comparisons(scores: number[], items: number, votesPerItem: number, tieRate: number, seed: number) {
  const random = seededRandom(seed);
  const labels: PairwiseLabel[] = [];
  for (let item = 0; item < items; item += 1) {
    const i = Math.floor(random() * scores.length);
    let j = Math.floor(random() * (scores.length - 1));
    if (j >= i) j += 1;
    const pA = 1 / (1 + Math.exp((scores[j] as number) - (scores[i] as number)));
    for (let v = 0; v < votesPerItem; v += 1) {
      const roll = random();
      labels.push({
        worker: `w${(item * votesPerItem + v) % 30}`,
        item: `q${item}`,
        a: `m${i}`,
        b: `m${j}`,
        preferred: roll < tieRate ? 'tie' : random() < pA ? 'a' : 'b',
        shownLeft: random() < 0.5 ? 'a' : 'b',
      });
    }
  }
  return labels;
}

describe('bradleyTerry', () => {
  it('recovers the exact order of eight models with known strengths, ties included', () => {
    const scores = [-1.75, -1.25, -0.75, -0.25, 0.25, 0.75, 1.25, 1.75];
    const result = bradleyTerry(comparisons(scores, 600, 3, 0.1, 1));
    expect(result.converged).toBe(true);
    expect(result.strengths.map((strength) => strength.answer)).toEqual([
      'm7',
      'm6',
      'm5',
      'm4',
      'm3',
      'm2',
      'm1',
      'm0',
    ]);
    // Random ties shrink differences a little; the spread still matches the truth.
    const top = result.strengths[0]?.score ?? 0;
    const bottom = result.strengths[7]?.score ?? 0;
    expect(top - bottom).toBeGreaterThan(2.5);
    expect(top - bottom).toBeLessThan(4);
    expect(result.strengths.reduce((sum, strength) => sum + strength.score, 0)).toBeCloseTo(0, 9);
  });

  it('counts a tie as half a win for each answer', () => {
    const result = bradleyTerry(
      [
        vote('w1', 'q', 'a'),
        vote('w2', 'q', 'a'),
        vote('w3', 'q', 'a'),
        vote('w4', 'q', 'tie'),
        vote('w5', 'q', 'tie'),
      ],
      { prior: 1e-6 },
    );
    expect(result.strengths.map(({ answer, wins, comparisons }) => ({ answer, wins, comparisons }))).toEqual([
      { answer: 'A', wins: 4, comparisons: 5 },
      { answer: 'B', wins: 1, comparisons: 5 },
    ]);
    // Maximum likelihood with 4 wins to 1: π_A / π_B = 4, so P(A beats B) = 0.8.
    expect(result.items[0]?.probabilityA).toBeCloseTo(0.8, 4);
    expect(result.items[0]).toMatchObject({ preferred: 'a', votes: 5, ties: 2, shareA: 0.8 });
  });

  it('sees no preference between answers that only ever tied', () => {
    const result = bradleyTerry([vote('w1', 'q', 'tie'), vote('w2', 'q', 'tie'), vote('w3', 'q', 'tie')]);
    expect(result.items[0]).toMatchObject({ preferred: 'tie', confidence: 0.5, shareA: 0.5 });
    expect(result.items[0]?.probabilityA).toBeCloseTo(0.5, 12);
    expect(result.strengths[0]?.score).toBeCloseTo(0, 12);
  });

  it('keeps an answer that never lost at a finite strength, thanks to the prior', () => {
    const result = bradleyTerry([vote('w1', 'q', 'a'), vote('w2', 'q', 'a'), vote('w3', 'q', 'a')]);
    const item = result.items[0];
    expect(result.converged).toBe(true);
    expect(Number.isFinite(result.strengths[0]?.score)).toBe(true);
    expect(item?.probabilityA).toBeGreaterThan(0.7);
    expect(item?.probabilityA).toBeLessThan(1);
    // Three of three for a: P(p > 1/2) under Beta(3.5, 0.5).
    expect(item?.confidence).toBeGreaterThan(0.95);
    expect(item?.confidence).toBeLessThan(1);
  });

  it('states item confidences that match how often the crowd really prefers that answer', () => {
    const random = seededRandom(8);
    const labels: PairwiseLabel[] = [];
    const truth = new Map<string, 'a' | 'b'>();
    for (let item = 0; item < 4000; item += 1) {
      // Each item's share of labelers preferring a varies, from near 0 to near 1 (arcsine law).
      const pA = Math.sin((Math.PI / 2) * random()) ** 2;
      truth.set(`q${item}`, pA > 0.5 ? 'a' : 'b');
      // Between 2 and 7 votes, so confidences spread over many values (and even counts can tie).
      for (let v = 0; v < 2 + (item % 6); v += 1) {
        labels.push({
          worker: `w${v}`,
          item: `q${item}`,
          a: `q${item}-a`,
          b: `q${item}-b`,
          preferred: random() < pA ? 'a' : 'b',
          shownLeft: random() < 0.5 ? 'a' : 'b',
        });
      }
    }
    const result = bradleyTerry(labels);
    const report = calibrationReport(
      result.items
        .filter((item) => item.preferred !== 'tie')
        .map((item) => ({ confidence: item.confidence, correct: truth.get(item.item) === item.preferred })),
    );
    const wellFilled = report.bins.filter((bin) => bin.count >= 100);
    expect(wellFilled.length).toBeGreaterThanOrEqual(3);
    for (const bin of wellFilled) expect(Math.abs(bin.accuracy - bin.meanConfidence)).toBeLessThanOrEqual(0.07);
    expect(report.expectedCalibrationError).toBeLessThan(0.03);
  });

  it('reports each labeler’s position bias with the fit', () => {
    const labels = Array.from({ length: 30 }, (_, index): PairwiseLabel => {
      const shownLeft = index % 2 === 0 ? 'a' : 'b';
      return { worker: 'lefty', item: `q${index}`, a: 'A', b: 'B', preferred: shownLeft, shownLeft };
    });
    expect(bradleyTerry(labels).positionBias).toEqual([expect.objectContaining({ worker: 'lefty', biased: true })]);
  });

  it('rejects an item whose answers differ between labels, a repeated worker, and self-comparison', () => {
    expect(() => bradleyTerry([vote('w1', 'q', 'a'), vote('w2', 'q', 'a', 'A', 'C')])).toThrow(
      /Item "q" compares "A" \(a\) with "B" \(b\), but worker "w2" has a = "A", b = "C"/,
    );
    expect(() => bradleyTerry([vote('w1', 'q', 'a'), vote('w1', 'q', 'b')])).toThrow(/more than once/);
    expect(() => bradleyTerry([vote('w1', 'q', 'a', 'A', 'A')])).toThrow(/with itself/);
  });
});
