import type { ItemContent, LabelResult, LabelSchema, LabelValue } from './labeling';

/** Why an item cannot be labeled with a schema, or undefined when it can. */
export function itemProblem(
  schema: LabelSchema,
  content: ItemContent,
  gold: LabelValue | undefined,
): string | undefined {
  if (schema.type === 'pairwise' && content.type !== 'pairwise')
    return 'a pairwise project needs items with a prompt and two answers';
  if (schema.type !== 'pairwise' && content.type === 'pairwise')
    return `a ${schema.type} project cannot label a pairwise item`;
  if (schema.type === 'spans' && content.type !== 'text') return 'span labeling needs text items';
  if (gold === undefined) return undefined;
  const problem = valueProblem(schema, content, gold);
  return problem ? `gold answer: ${problem}` : undefined;
}

/** Why a label value does not fit the schema and item, or undefined when it does. */
export function valueProblem(schema: LabelSchema, content: ItemContent, value: LabelValue): string | undefined {
  if (value.type !== schema.type) return `expected a ${schema.type} answer, got ${value.type}`;
  switch (value.type) {
    case 'single_choice':
      return schema.type === 'single_choice' && !schema.choices.includes(value.choice)
        ? `"${value.choice}" is not one of ${schema.choices.join(', ')}`
        : undefined;
    case 'multi_choice': {
      if (schema.type !== 'multi_choice') return undefined;
      const unknown = value.choices.find((choice) => !schema.choices.includes(choice));
      if (unknown !== undefined) return `"${unknown}" is not one of ${schema.choices.join(', ')}`;
      return new Set(value.choices).size === value.choices.length ? undefined : 'a choice is given twice';
    }
    case 'pairwise':
      return undefined;
    case 'spans': {
      if (schema.type !== 'spans' || content.type !== 'text') return undefined;
      // Each span once: a repeated span would make the same answer a different one to aggregation and gold.
      const seen = new Set<string>();
      for (const span of value.spans) {
        const key = `${span.start}:${span.end}:${span.label}`;
        if (seen.has(key)) return `span ${span.start}-${span.end} "${span.label}" is given twice`;
        seen.add(key);
        if (span.end <= span.start) return `span ${span.start}-${span.end} is empty`;
        if (span.end > content.text.length)
          return `span ${span.start}-${span.end} runs past the text (${content.text.length})`;
        if (!schema.labels.includes(span.label)) return `"${span.label}" is not one of ${schema.labels.join(', ')}`;
      }
      return undefined;
    }
  }
}

/** Turns what the labeler answered (pairwise as left/right) into the stored value (a/b). */
export function toLabelValue(answer: NonNullable<LabelResult['answer']>, leftIsA: boolean): LabelValue {
  if (answer.type !== 'pairwise') return answer as LabelValue;
  if (answer.preferred === 'tie') return { type: 'pairwise', preferred: 'tie' };
  const pickedA = (answer.preferred === 'left') === leftIsA;
  return { type: 'pairwise', preferred: pickedA ? 'a' : 'b' };
}

/** The canonical text of a categorical label, used for gold checks and aggregation. */
export function labelKey(value: LabelValue): string {
  switch (value.type) {
    case 'single_choice':
      return value.choice;
    case 'multi_choice':
      return [...value.choices].sort().join('|');
    case 'pairwise':
      return value.preferred;
    case 'spans':
      return value.spans
        .map((span) => `${span.start}:${span.end}:${span.label}`)
        .sort()
        .join('|');
  }
}

/** Spans match gold when every gold span has a same-label span overlapping it by IoU ≥ 0.5, and no extras. */
function spansMatch(
  goldAsStored: Array<{ start: number; end: number; label: string }>,
  given: typeof goldAsStored,
): boolean {
  // Each span once: gold stored before repeated spans were refused may hold one twice, which no answer can.
  const gold = [...new Map(goldAsStored.map((span) => [`${span.start}:${span.end}:${span.label}`, span])).values()];
  if (gold.length !== given.length) return false;
  return gold.every((want) =>
    given.some((span) => {
      if (span.label !== want.label) return false;
      const overlap = Math.max(0, Math.min(span.end, want.end) - Math.max(span.start, want.start));
      const union = Math.max(span.end, want.end) - Math.min(span.start, want.start);
      return overlap / union >= 0.5;
    }),
  );
}

/** Whether a label agrees with a gold answer. */
export function matchesGold(gold: LabelValue, value: LabelValue): boolean {
  if (gold.type === 'spans' && value.type === 'spans') return spansMatch(gold.spans, value.spans);
  return labelKey(gold) === labelKey(value);
}
