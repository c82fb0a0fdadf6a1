import { describe, expect, it } from 'vitest';
import { goldAccuracy } from './gold-accuracy';

const gold = new Map([
  ['g1', 'yes'],
  ['g2', 'no'],
  ['g3', 'yes'],
  ['g4', 'no'],
]);
const answers = (worker: string, values: string[]) =>
  values.map((label, index) => ({ worker, item: `g${index + 1}`, label }));

describe('goldAccuracy', () => {
  it('does not judge a labeler before the warm-up, then counts or excludes them by the threshold', () => {
    const report = goldAccuracy(
      [
        ...answers('new', ['yes', 'yes']),
        ...answers('good', ['yes', 'no', 'yes', 'yes']),
        ...answers('bad', ['no', 'yes', 'yes', 'no']),
        { worker: 'good', item: 'not-gold', label: 'no' },
      ],
      gold,
      { minGold: 3, minAccuracy: 0.6 },
    );
    expect(report.workers).toEqual([
      { worker: 'new', answered: 2, correct: 1, accuracy: null, status: 'warming_up' },
      { worker: 'good', answered: 4, correct: 3, accuracy: 0.75, status: 'counting' },
      { worker: 'bad', answered: 4, correct: 2, accuracy: 0.5, status: 'below_threshold' },
    ]);
    expect(report).toMatchObject({ answered: 10, correct: 6, accuracy: 0.6 });
  });

  it('reports no accuracy when no gold item was answered', () => {
    const report = goldAccuracy([{ worker: 'w', item: 'plain', label: 'yes' }], gold);
    expect(report).toEqual({ answered: 0, correct: 0, accuracy: null, workers: [] });
  });
});
