import type { ProjectLabels } from '@protocol/labeling';
import { describe, expect, it } from 'vitest';
import { labelerQuality } from './labeler-quality';

const at = '2026-01-01T00:00:00.000Z';
const item = (aggregate: string | null, labels: [string, string][]): ProjectLabels['items'][number] => ({
  id: Math.random().toString(),
  content: { type: 'text', text: 'x' },
  gold: false,
  complete: aggregate !== null,
  aggregate: aggregate === null ? null : { label: aggregate, confidence: 0.9, method: 'ds' },
  labels: labels.map(([labeler, choice]) => ({ labeler, value: { type: 'single_choice', choice }, labeledAt: at })),
});

describe('labelerQuality', () => {
  it('counts each labeler’s labels and agreement only over items that have an aggregate', () => {
    const quality = labelerQuality([
      item('pos', [
        ['ann', 'pos'],
        ['bob', 'neg'],
      ]),
      item('neg', [
        ['ann', 'neg'],
        ['bob', 'neg'],
      ]),
      item(null, [['bob', 'pos']]),
    ]);
    expect(quality).toEqual([
      { labeler: 'bob', labels: 3, compared: 2, agreement: 0.5 },
      { labeler: 'ann', labels: 2, compared: 2, agreement: 1 },
    ]);
  });
});
