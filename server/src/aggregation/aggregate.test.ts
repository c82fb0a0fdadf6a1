import { describe, expect, it } from 'vitest';
import { type AggregateResult, aggregatedItems, aggregateEncoded, autoCandidates } from './aggregate';
import { calibrationReport } from './calibration';
import { type EncodedLabels, encodeLabels } from './encode-labels';
import { type CrowdOptions, seededRandom, syntheticCrowd } from './synthetic-crowd';
import type { CategoricalLabel } from './types';

function crowdOf(options: CrowdOptions) {
  const crowd = syntheticCrowd(options);
  return { encoded: encodeLabels(crowd.labels, { classes: crowd.classes }), truth: crowd.truth };
}

function accuracy(encoded: EncodedLabels, result: AggregateResult, truth: ReadonlyMap<string, string>): number {
  let right = 0;
  encoded.items.forEach((name, i) => {
    if (encoded.classes[result.label[i] as number] === truth.get(name)) right += 1;
  });
  return right / encoded.items.length;
}

/** Fixed Dawid-Skene priors wider than auto's own grid: pooled 0–32 pseudo-answers, diagonal 0 or 2. */
const hindsightGrid = [0, 2, 8, 32].flatMap((pooled) =>
  [0, 2].map((diagonal) => ({ method: 'ds' as const, parameters: { smoothing: 0.01, diagonal, pooled } })),
);

/** The best accuracy any fixed Dawid-Skene prior of that grid reaches, known only with the truth in hand. */
function bestFixedPrior(encoded: EncodedLabels, truth: ReadonlyMap<string, string>): number {
  return Math.max(...hindsightGrid.map((candidate) => accuracy(encoded, aggregateEncoded(encoded, candidate), truth)));
}

// The two shapes the fixed default priors got wrong: sparse near-chance workers, and many classes.
const sparseNearChance: CrowdOptions = {
  seed: 11,
  items: 800,
  workers: 160,
  classes: 5,
  labelsPerItem: 5,
  spammers: 0.6,
  accuracy: [0.45, 0.8],
};
const manyClasses: CrowdOptions = {
  seed: 12,
  items: 300,
  workers: 30,
  classes: 50,
  labelsPerItem: 5,
  spammers: 0.3,
  accuracy: [0.4, 0.8],
};

/**
 * A crowd whose errors are not independent: on 30% of the items (hard ones) every worker answers at
 * random, so agreement there is luck, and a model that multiplies answers as independent evidence is too sure.
 */
function crowdWithHardItems(seed: number) {
  const random = seededRandom(seed);
  const classes = ['a', 'b', 'c'];
  const accuracy = Array.from({ length: 40 }, () => 0.6 + 0.3 * random());
  const labels: CategoricalLabel[] = [];
  const truth = new Map<string, string>();
  for (let i = 0; i < 1500; i += 1) {
    const answer = Math.floor(random() * 3);
    truth.set(`i${i}`, classes[answer] as string);
    const hard = random() < 0.3;
    const workers = new Set<number>();
    while (workers.size < 5) {
      const w = Math.floor(random() * 40);
      if (workers.has(w)) continue;
      workers.add(w);
      const right = !hard && random() < (accuracy[w] as number);
      const label = hard ? Math.floor(random() * 3) : right ? answer : (answer + 1 + Math.floor(random() * 2)) % 3;
      labels.push({ worker: `w${w}`, item: `i${i}`, label: classes[label] as string });
    }
  }
  return { encoded: encodeLabels(labels, { classes }), truth };
}

function expectedCalibrationError(encoded: EncodedLabels, result: AggregateResult, truth: ReadonlyMap<string, string>) {
  return calibrationReport(
    encoded.items.map((name, i) => ({
      confidence: result.confidence[i] as number,
      correct: encoded.classes[result.label[i] as number] === truth.get(name),
    })),
  ).expectedCalibrationError;
}

describe('aggregateEncoded', () => {
  it.each([
    ['5 classes, sparse workers, most near chance', sparseNearChance],
    ['50 classes', manyClasses],
  ])('with the auto default comes within 0.005 of the best fixed prior chosen with hindsight (%s)', (_, shape) => {
    const { encoded, truth } = crowdOf(shape);
    const auto = aggregateEncoded(encoded);
    expect(auto.selectedBy).toBe('answers');
    expect(accuracy(encoded, auto, truth)).toBeGreaterThanOrEqual(bestFixedPrior(encoded, truth) - 0.005);
  });

  it('flags an item whose answers split evenly as tied, with the number of classes at the top', () => {
    const encoded = encodeLabels(
      [
        { worker: 'a', item: 'split', label: 'x' },
        { worker: 'b', item: 'split', label: 'y' },
        { worker: 'a', item: 'clear', label: 'x' },
        { worker: 'b', item: 'clear', label: 'x' },
        { worker: 'c', item: 'clear', label: 'x' },
        { worker: 'c', item: 'three', label: 'x' },
        { worker: 'd', item: 'three', label: 'y' },
        { worker: 'e', item: 'three', label: 'z' },
      ],
      { classes: ['x', 'y', 'z'] },
    );
    const result = aggregateEncoded(encoded, { method: 'mv' });
    expect(Array.from(result.tied)).toEqual([2, 1, 3]);
    expect(aggregatedItems(encoded, result).map((item) => item.tied)).toEqual([true, false, true]);
  });

  it('records the method and priors it chose and every candidate’s score, and gives the same result twice', () => {
    const { encoded } = crowdOf({ ...sparseNearChance, items: 300, workers: 60 });
    const first = aggregateEncoded(encoded);
    const second = aggregateEncoded(encoded);
    expect(first.candidates).toHaveLength(autoCandidates.length);
    // The best-scoring candidate is what was fitted; its parameters come back with what the fit learned.
    const best = first.candidates.reduce((top, candidate) => (candidate.score > top.score ? candidate : top));
    expect(first.method).toBe(best.method);
    expect(first.parameters).toEqual(expect.objectContaining(best.parameters));
    expect(first.parameters.temperature ?? 1).toBe(first.temperature);
    expect(second.method).toBe(first.method);
    expect(second.parameters).toEqual(first.parameters);
    expect(Array.from(second.posterior)).toEqual(Array.from(first.posterior));
  });

  it('softens an over-sure posterior by a temperature fitted on held-out answers, without changing a label', () => {
    const { encoded, truth } = crowdWithHardItems(7);
    const tempered = aggregateEncoded(encoded);
    const asFitted = aggregateEncoded(encoded, {
      method: tempered.method,
      parameters: { ...tempered.parameters, temperature: 1 },
    });
    expect(tempered.temperature).toBeLessThan(1);
    expect(tempered.parameters.temperature).toBe(tempered.temperature);
    expect(Array.from(tempered.label)).toEqual(Array.from(asFitted.label));
    expect(expectedCalibrationError(encoded, tempered, truth)).toBeLessThan(
      expectedCalibrationError(encoded, asFitted, truth) - 0.02,
    );
  });

  it('chooses for a project of over 100,000 answers on a sample of its items, and still beats majority vote', () => {
    const { encoded, truth } = crowdOf({
      seed: 13,
      items: 12_000,
      workers: 300,
      classes: 5,
      labelsPerItem: 10,
      spammers: 0.4,
      accuracy: [0.5, 0.8],
    });
    expect(encoded.label.length).toBeGreaterThan(100_000);
    const auto = aggregateEncoded(encoded);
    expect(auto.method).not.toBe('mv');
    expect(auto.candidates.every((candidate) => Number.isFinite(candidate.score))).toBe(true);
    expect(accuracy(encoded, auto, truth)).toBeGreaterThan(
      accuracy(encoded, aggregateEncoded(encoded, { method: 'mv' }), truth) + 0.02,
    );
  });

  it('chooses by held-out gold once enough gold items have answers', () => {
    const crowd = syntheticCrowd({ ...sparseNearChance, items: 300, workers: 60 });
    const gold = new Map([...crowd.truth].slice(0, 40));
    const encoded = encodeLabels(crowd.labels, { classes: crowd.classes, gold });
    expect(aggregateEncoded(encoded).selectedBy).toBe('gold');
    expect(aggregateEncoded(encoded, { minGold: 41 }).selectedBy).toBe('answers');
  });

  it('refuses Dawid-Skene priors that would put a zero in a confusion matrix', () => {
    const { encoded } = crowdOf({ ...manyClasses, items: 20 });
    expect(() => aggregateEncoded(encoded, { method: 'ds', parameters: { smoothing: 0 } })).toThrow(
      /smoothing above 0/,
    );
  });
});
