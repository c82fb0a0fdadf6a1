import { labelKey } from '@protocol/label-rules';
import type { LabelSchema, LabelValue } from '@protocol/labeling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregatedItems, aggregateEncoded } from '../aggregation/aggregate';
import { bradleyTerry } from '../aggregation/bradley-terry';
import { encodeLabels } from '../aggregation/encode-labels';
import { majorityVote } from '../aggregation/majority-vote';
import { seededRandom, syntheticCrowd } from '../aggregation/synthetic-crowd';
import type { AggregatedItem, CategoricalLabel } from '../aggregation/types';
import { type AggregationPool, createAggregationPool } from './label-aggregation-pool';
import { fittedItems, type LabelFitRow, labelFitInput } from './label-aggregation-worker';

/** Item ids as the database gives them: numeric strings, not in id order. */
const itemId = (name: string) => String(5_000 - Number(name.slice(1)));

/** The library's items as aggregateProject stored them before the fit moved to a thread. */
const stored = (items: readonly AggregatedItem[], gold: ReadonlyMap<string, string>) =>
  items
    .filter((item) => !gold.has(item.item))
    .sort((a, b) => Number(a.item) - Number(b.item))
    .map(({ item, label, confidence }) => ({ item, label, confidence }));

const row = (device: string, item: string, value: LabelValue, extra: Partial<LabelFitRow> = {}): LabelFitRow => ({
  device,
  item_id: item,
  value: JSON.stringify(value),
  is_gold: false,
  shown_left: null,
  gold_answer: null,
  ...extra,
});

describe('the label fit in its thread', () => {
  let pool: AggregationPool;
  beforeAll(() => {
    pool = createAggregationPool({ size: 1, deadlineMs: 60_000, maxHeapMb: 512 });
  });
  afterAll(() => pool.close());

  /** Fits in the thread, and returns what aggregateProject stores. */
  const fitInThread = async (schema: LabelSchema, rows: readonly LabelFitRow[]) => {
    const input = labelFitInput(schema, rows);
    const fit = await pool.fit(input);
    return { method: fit.method, aggregation: fit.aggregation, items: fittedItems(input, fit) };
  };

  it('fits categorical labels with gold items exactly as the library does inline', async () => {
    const crowd = syntheticCrowd({ seed: 11, items: 600, workers: 40, classes: 3, labelsPerItem: 4, spammers: 0.2 });
    const gold = new Map(
      [...crowd.truth].filter((_, i) => i % 15 === 0).map(([item, truth]) => [itemId(item), truth] as const),
    );
    const labels: CategoricalLabel[] = crowd.labels.map((label) => ({ ...label, item: itemId(label.item) }));
    const schema: LabelSchema = { type: 'single_choice', choices: crowd.classes };
    const rows = labels.map((label) =>
      row(
        label.worker,
        label.item,
        { type: 'single_choice', choice: label.label },
        {
          is_gold: gold.has(label.item),
          gold_answer: gold.has(label.item)
            ? JSON.stringify({ type: 'single_choice', choice: gold.get(label.item) })
            : null,
        },
      ),
    );

    const encoded = encodeLabels(labels, { classes: crowd.classes, gold });
    const result = aggregateEncoded(encoded);
    const fitted = await fitInThread(schema, rows);
    expect(result.selectedBy).toBe('gold');
    expect(fitted.aggregation).toEqual({
      method: result.method,
      parameters: result.parameters,
      selectedBy: result.selectedBy,
    });
    expect(fitted.method).toBe(result.method === 'wawa' || result.method === 'mv' ? 'mv' : 'ds');
    expect(fitted.items).toHaveLength(600 - gold.size);
    expect(fitted.items).toEqual(stored(aggregatedItems(encoded, result), gold));
  });

  it('fits pairwise preferences exactly as Bradley-Terry does inline, leaving gold items out', async () => {
    const random = seededRandom(12);
    const rows: LabelFitRow[] = [];
    for (let i = 0; i < 300; i += 1) {
      const isGold = i % 50 === 0;
      for (let w = 0; w < 3; w += 1) {
        const draw = random();
        const preferred = draw < 0.6 ? 'a' : draw < 0.9 ? 'b' : 'tie';
        rows.push(
          row(
            `w${(i + w * 7) % 25}`,
            itemId(`i${i}`),
            { type: 'pairwise', preferred },
            {
              is_gold: isGold,
              shown_left: random() < 0.5 ? 'a' : 'b',
              gold_answer: isGold ? JSON.stringify({ type: 'pairwise', preferred: 'a' }) : null,
            },
          ),
        );
      }
    }
    const expected = bradleyTerry(
      rows
        .filter((label) => !label.is_gold)
        .map((label) => {
          const value = JSON.parse(label.value) as { preferred: 'a' | 'b' | 'tie' };
          return {
            worker: label.device,
            item: label.item_id,
            a: `${label.item_id}:a`,
            b: `${label.item_id}:b`,
            preferred: value.preferred,
            shownLeft: label.shown_left as 'a' | 'b',
          };
        }),
    ).items.map((item) => ({ item: item.item, label: item.preferred, confidence: item.confidence }));

    const fitted = await fitInThread({ type: 'pairwise' }, rows);
    expect(fitted.method).toBe('bt');
    expect(fitted.aggregation).toEqual({ method: 'bt', parameters: {}, selectedBy: 'named' });
    expect(fitted.items).toHaveLength(294);
    expect(fitted.items).toEqual([...expected].sort((a, b) => Number(a.item) - Number(b.item)));
  });

  it('fits span sets exactly as majority vote does inline', async () => {
    const random = seededRandom(13);
    const rows: LabelFitRow[] = [];
    for (let i = 0; i < 200; i += 1) {
      for (let w = 0; w < 3; w += 1) {
        const start = Math.floor(random() * 3);
        const spans = [{ start, end: start + 5, label: random() < 0.7 ? 'PER' : 'ORG' }];
        rows.push(row(`w${(i + w) % 10}`, itemId(`i${i}`), { type: 'spans', spans }));
      }
    }
    const labels = rows.map((label) => ({
      worker: label.device,
      item: label.item_id,
      label: labelKey(JSON.parse(label.value) as LabelValue),
    }));
    const expected = stored(majorityVote(labels).items, new Map());

    const fitted = await fitInThread({ type: 'spans', labels: ['PER', 'ORG'] }, rows);
    expect(fitted.method).toBe('mv');
    expect(fitted.aggregation).toEqual({ method: 'mv', parameters: {}, selectedBy: 'named' });
    expect(fitted.items).toHaveLength(200);
    expect(fitted.items).toEqual(expected);
  });

  it('fails the fit, saying why, when a stored answer is not a label, and fits the next project', async () => {
    const schema: LabelSchema = { type: 'single_choice', choices: ['yes', 'no'] };
    const broken = [{ ...row('w1', '1', { type: 'single_choice', choice: 'yes' }), value: '{"type":"yes"' }];
    await expect(pool.fit(labelFitInput(schema, broken))).rejects.toThrow(/^Aggregation failed: .*JSON/);
    const fitted = await fitInThread(schema, [row('w1', '1', { type: 'single_choice', choice: 'yes' })]);
    expect(fitted.items).toEqual([{ item: '1', label: 'yes', confidence: expect.any(Number) }]);
  });
});
