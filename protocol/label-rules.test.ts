import { describe, expect, it } from 'vitest';
import { labelKey, matchesGold, valueProblem } from './label-rules';
import type { ItemContent, LabelSchema, LabelValue } from './labeling';

describe('span answers', () => {
  const schema: LabelSchema = { type: 'spans', labels: ['who', 'where'] };
  const content: ItemContent = { type: 'text', text: 'Ada went to Paris.' };
  const spans = (...list: Array<[number, number, string]>): LabelValue => ({
    type: 'spans',
    spans: list.map(([start, end, label]) => ({ start, end, label })),
  });

  it('refuses a span given twice, which would make the same answer count as another', () => {
    const once = spans([0, 3, 'who']);
    const twice = spans([0, 3, 'who'], [0, 3, 'who']);
    // The two keys differ, so to aggregation and gold they would be two answers.
    expect(labelKey(twice)).not.toBe(labelKey(once));
    expect(valueProblem(schema, content, twice)).toBe('span 0-3 "who" is given twice');
    expect(valueProblem(schema, content, once)).toBeUndefined();
    // The same place with two labels is two spans, not a repeat.
    expect(valueProblem(schema, content, spans([0, 3, 'who'], [0, 3, 'where']))).toBeUndefined();
  });

  it('matches a gold answer stored with a span twice (before repeats were refused) by the answer that has it once', () => {
    expect(matchesGold(spans([0, 3, 'who'], [0, 3, 'who']), spans([0, 3, 'who']))).toBe(true);
    expect(matchesGold(spans([0, 3, 'who'], [0, 3, 'who']), spans([0, 3, 'who'], [12, 17, 'where']))).toBe(false);
  });
});
