import { describe, expect, it } from 'vitest';
import { calibrationReport } from './calibration';
import { dawidSkene } from './dawid-skene';
import { majorityVote } from './majority-vote';
import { accuracyAgainst, seededRandom, syntheticCrowd } from './synthetic-crowd';

describe('dawidSkene', () => {
  it('labels nearly every item as majority vote does when all labelers are equally reliable', () => {
    const crowd = syntheticCrowd({
      seed: 1,
      items: 1000,
      workers: 30,
      classes: 4,
      labelsPerItem: 5,
      accuracy: [0.85, 0.85],
    });
    const ds = dawidSkene(crowd.labels);
    const mv = majorityVote(crowd.labels);
    const same = ds.items.filter((item, i) => item.label === mv.items[i]?.label).length;
    expect(same / ds.items.length).toBeGreaterThanOrEqual(0.98);
    expect(accuracyAgainst(ds.items, crowd.truth)).toBeGreaterThan(0.97);
    expect(ds.converged).toBe(true);
  });

  it('beats majority vote by at least 5 points when 30% spam and 10% answer systematically wrong', () => {
    const crowd = syntheticCrowd({
      seed: 2,
      items: 2000,
      workers: 50,
      classes: 4,
      labelsPerItem: 5,
      spammers: 0.3,
      adversaries: 0.1,
      accuracy: [0.6, 0.85],
    });
    const dsAccuracy = accuracyAgainst(dawidSkene(crowd.labels).items, crowd.truth);
    const mvAccuracy = accuracyAgainst(majorityVote(crowd.labels).items, crowd.truth);
    expect(dsAccuracy - mvAccuracy).toBeGreaterThanOrEqual(0.05);
    expect(dsAccuracy).toBeGreaterThan(0.85);
  });

  it('rates spammers and adversarial labelers below reliable ones and learns the adversaries’ permutation', () => {
    const crowd = syntheticCrowd({
      seed: 3,
      items: 2000,
      workers: 40,
      classes: 3,
      labelsPerItem: 5,
      spammers: 0.25,
      adversaries: 0.1,
    });
    const ds = dawidSkene(crowd.labels);
    const byKind = (kind: string) => ds.workers.filter((worker) => crowd.kinds.get(worker.worker) === kind);
    const reliable = byKind('reliable');
    const worstReliable = Math.min(...reliable.map((worker) => worker.accuracy));
    for (const spammer of byKind('spammer')) {
      expect(spammer.accuracy).toBeLessThan(worstReliable);
      // Chance level for 3 classes, up to sampling noise on ~250 labels.
      expect(Math.abs(spammer.accuracy - 1 / 3)).toBeLessThan(0.12);
    }
    for (const adversary of byKind('adversarial')) {
      expect(adversary.accuracy).toBeLessThan(0.05);
      // The generator's adversaries answer c1 for c0, c2 for c1, c0 for c2.
      expect(adversary.confusion.c0?.c1).toBeGreaterThan(0.9);
      expect(adversary.confusion.c2?.c0).toBeGreaterThan(0.9);
    }
    for (const worker of reliable) {
      const truthRows = Object.values(worker.confusion);
      for (const row of truthRows) expect(Object.values(row).reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 12);
    }
  });

  it('states confidences that match accuracy: reliability bins within 0.1 and calibration error under 0.03', () => {
    const crowd = syntheticCrowd({
      seed: 4,
      items: 5000,
      workers: 40,
      classes: 4,
      labelsPerItem: 4,
      accuracy: [0.5, 0.9],
    });
    const ds = dawidSkene(crowd.labels);
    const report = calibrationReport(
      ds.items.map((item) => ({ confidence: item.confidence, correct: crowd.truth.get(item.item) === item.label })),
    );
    const wellFilled = report.bins.filter((bin) => bin.count >= 100);
    expect(wellFilled.length).toBeGreaterThanOrEqual(4);
    for (const bin of wellFilled) expect(Math.abs(bin.accuracy - bin.meanConfidence)).toBeLessThanOrEqual(0.1);
    expect(report.expectedCalibrationError).toBeLessThan(0.03);
  });

  it('clamps gold items to their answer, which rescues a crowd that is half adversarial', () => {
    const crowd = syntheticCrowd({
      seed: 11,
      items: 2000,
      workers: 40,
      classes: 3,
      labelsPerItem: 5,
      adversaries: 0.5,
      accuracy: [0.75, 0.9],
    });
    const gold = new Map([...crowd.truth].slice(0, 400));
    const unanchored = dawidSkene(crowd.labels);
    const anchored = dawidSkene(crowd.labels, { gold });
    const notGold = (items: typeof anchored.items) => items.filter((item) => !gold.has(item.item));
    // Without gold, the adversaries' permutation explains the data as well as the truth does.
    expect(accuracyAgainst(notGold(unanchored.items), crowd.truth)).toBeLessThan(0.5);
    expect(accuracyAgainst(notGold(anchored.items), crowd.truth)).toBeGreaterThan(0.95);
    for (const item of anchored.items.filter((result) => gold.has(result.item))) {
      expect(item).toMatchObject({ label: gold.get(item.item), confidence: 1, gold: true });
    }
    expect(anchored.items.find((item) => !gold.has(item.item))?.gold).toBe(false);
  });

  it('stays close to majority vote on a small project instead of collapsing onto the commonest class', () => {
    // 100 labelers with 5 labels each: too few to learn a confusion matrix from the data alone.
    const crowd = syntheticCrowd({
      seed: 2,
      items: 100,
      workers: 100,
      classes: 5,
      labelsPerItem: 5,
      spammers: 0.2,
      accuracy: [0.6, 0.9],
    });
    const mvAccuracy = accuracyAgainst(majorityVote(crowd.labels).items, crowd.truth);
    expect(accuracyAgainst(dawidSkene(crowd.labels).items, crowd.truth)).toBeGreaterThanOrEqual(mvAccuracy - 0.05);
    // Without the diagonal prior, near-uniform matrices let the class prior outvote the labelers.
    expect(accuracyAgainst(dawidSkene(crowd.labels, { diagonalPrior: 0 }).items, crowd.truth)).toBeLessThan(
      mvAccuracy - 0.2,
    );
    const tiny = dawidSkene([
      { worker: 'w1', item: 't1', label: 'cat' },
      { worker: 'w2', item: 't1', label: 'cat' },
      { worker: 'w3', item: 't1', label: 'dog' },
      { worker: 'w1', item: 't2', label: 'dog' },
      { worker: 'w2', item: 't2', label: 'dog' },
      { worker: 'w3', item: 't2', label: 'dog' },
    ]);
    expect(tiny.items.map((item) => item.label)).toEqual(['cat', 'dog']);
  });

  it('keeps a lone labeler’s answers when the gold is all one class and one gold answer was wrong', () => {
    // One labeler (overlap 1): six reviews answered half positive, half negative, and five all-positive
    // gold items, one answered negative by mistake. Buyer-picked gold must not tilt the class prior.
    const labels = [
      ...Array.from({ length: 6 }, (_, i) => ({
        worker: 'w',
        item: `r${i}`,
        label: i % 2 === 0 ? 'positive' : 'negative',
      })),
      ...Array.from({ length: 5 }, (_, i) => ({
        worker: 'w',
        item: `g${i}`,
        label: i === 1 ? 'negative' : 'positive',
      })),
    ];
    const gold = new Map(Array.from({ length: 5 }, (_, i) => [`g${i}`, 'positive'] as [string, string]));
    const result = dawidSkene(labels, { classes: ['positive', 'negative'], gold });
    const work = result.items.filter((item) => !item.gold).sort((a, b) => a.item.localeCompare(b.item));
    expect(work.map((item) => item.label)).toEqual([
      'positive',
      'negative',
      'positive',
      'negative',
      'positive',
      'negative',
    ]);
  });

  it('never estimates a zero probability, even for cells a labeler has no data for', () => {
    const labels = [
      { worker: 'always-yes', item: 'a', label: 'yes' },
      { worker: 'always-yes', item: 'b', label: 'yes' },
      { worker: 'honest', item: 'a', label: 'yes' },
      { worker: 'honest', item: 'b', label: 'no' },
      { worker: 'honest', item: 'c', label: 'maybe' },
    ];
    const ds = dawidSkene(labels);
    for (const worker of ds.workers) {
      for (const row of Object.values(worker.confusion))
        for (const p of Object.values(row)) expect(p).toBeGreaterThan(0);
    }
    for (const item of ds.items) {
      for (const p of Object.values(item.posterior)) expect(Number.isFinite(p) && p > 0).toBe(true);
    }
    expect(Number.isFinite(ds.logLikelihood)).toBe(true);
  });

  it('stops at maxIterations and says it did not converge', () => {
    const crowd = syntheticCrowd({ seed: 5, items: 300, workers: 20, classes: 3, labelsPerItem: 3, spammers: 0.3 });
    const capped = dawidSkene(crowd.labels, { maxIterations: 1 });
    expect(capped).toMatchObject({ iterations: 1, converged: false });
    const full = dawidSkene(crowd.labels);
    expect(full.converged).toBe(true);
    expect(full.iterations).toBeGreaterThan(1);
    expect(full.logLikelihood).toBeGreaterThan(capped.logLikelihood);
  });

  it('gives the same labels whatever order the labels arrive in', () => {
    const crowd = syntheticCrowd({ seed: 6, items: 500, workers: 20, classes: 3, labelsPerItem: 3, spammers: 0.2 });
    const random = seededRandom(99);
    const shuffled = [...crowd.labels];
    for (let i = shuffled.length - 1; i > 0; i -= 1) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j] as (typeof shuffled)[number], shuffled[i] as (typeof shuffled)[number]];
    }
    const byItem = (result: ReturnType<typeof dawidSkene>) => new Map(result.items.map((item) => [item.item, item]));
    const original = byItem(dawidSkene(crowd.labels));
    const reordered = byItem(dawidSkene(shuffled));
    for (const [item, result] of original) {
      expect(reordered.get(item)?.label).toBe(result.label);
      expect(reordered.get(item)?.confidence).toBeCloseTo(result.confidence, 9);
    }
  });

  it('refuses a smoothing of zero, which would allow log(0)', () => {
    expect(() => dawidSkene([{ worker: 'w', item: 'x', label: 'a' }], { smoothing: 0 })).toThrow(/smoothing above 0/);
  });
});
