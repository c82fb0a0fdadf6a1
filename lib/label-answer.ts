import { type LabelSchema, type LeasedTask, labelResultSchema } from '@protocol/labeling';
import type { z } from 'zod';

/** What a labeler answers to one task, as it goes in a result batch (pairwise as left/right). */
export const labelAnswerSchema = labelResultSchema.shape.answer.unwrap();
export type LabelAnswer = z.output<typeof labelAnswerSchema>;

export interface Span {
  start: number;
  end: number;
  label: string;
}

/** The pairwise choices in key order: 1 = left, 2 = right, 3 = tie. */
export const pairwiseChoices = ['left', 'right', 'tie'] as const;
type Preferred = (typeof pairwiseChoices)[number];

/** An answer being made in the panel; `answerOf` turns it into a label once it says something. */
export type Draft =
  | { type: 'single_choice'; choice: string | null }
  | { type: 'multi_choice'; choices: string[] }
  | { type: 'pairwise'; preferred: Preferred | null }
  /** `none`: the labeler says the text has nothing to mark (an empty span list as a deliberate answer). */
  | { type: 'spans'; spans: Span[]; none: boolean };

export function emptyDraft(schema: LabelSchema): Draft {
  switch (schema.type) {
    case 'single_choice':
      return { type: 'single_choice', choice: null };
    case 'multi_choice':
      return { type: 'multi_choice', choices: [] };
    case 'pairwise':
      return { type: 'pairwise', preferred: null };
    case 'spans':
      return { type: 'spans', spans: [], none: false };
  }
}

/** The options a number key picks, in key order (1 is the first): choices, pairwise sides, span labels. */
export function optionsOf(schema: LabelSchema): readonly string[] {
  switch (schema.type) {
    case 'single_choice':
    case 'multi_choice':
      return schema.choices;
    case 'pairwise':
      return pairwiseChoices;
    case 'spans':
      return schema.labels;
  }
}

/**
 * Number key `n` (1-based) on a draft of a choice or pairwise task: single choice and pairwise pick
 * that option, multi choice toggles it. Keys past the options, and span drafts (whose keys label a
 * selection, see `addSpan`), leave the draft as it is.
 */
export function chooseOption(draft: Draft, schema: LabelSchema, n: number): Draft {
  const option = optionsOf(schema)[n - 1];
  if (option === undefined) return draft;
  switch (draft.type) {
    case 'single_choice':
      return { ...draft, choice: option };
    case 'multi_choice':
      return draft.choices.includes(option)
        ? { ...draft, choices: draft.choices.filter((choice) => choice !== option) }
        : {
            ...draft,
            choices: optionsOf(schema).filter((choice) => choice === option || draft.choices.includes(choice)),
          };
    case 'pairwise':
      return { ...draft, preferred: option as Preferred };
    case 'spans':
      return draft;
  }
}

/** Whether option `n` (1-based) is chosen in the draft (for `aria-pressed`). */
export function isChosen(draft: Draft, schema: LabelSchema, n: number): boolean {
  const option = optionsOf(schema)[n - 1];
  switch (draft.type) {
    case 'single_choice':
      return draft.choice === option;
    case 'multi_choice':
      return option !== undefined && draft.choices.includes(option);
    case 'pairwise':
      return draft.preferred === option;
    case 'spans':
      return false;
  }
}

/** Adds a span (kept in text order); the same range with the same label is not added twice. */
export function addSpan(draft: Draft, span: Span): Draft {
  if (draft.type !== 'spans' || span.end <= span.start) return draft;
  const exists = draft.spans.some((s) => s.start === span.start && s.end === span.end && s.label === span.label);
  if (exists) return draft;
  const spans = [...draft.spans, span].sort((a, b) => a.start - b.start || a.end - b.end);
  return { ...draft, spans, none: false };
}

export function removeSpan(draft: Draft, index: number): Draft {
  if (draft.type !== 'spans') return draft;
  return { ...draft, spans: draft.spans.filter((_, i) => i !== index) };
}

/** Toggles "nothing to mark" on a span draft (it clears the spans marked so far). */
export function toggleNothingToMark(draft: Draft): Draft {
  if (draft.type !== 'spans') return draft;
  return draft.none ? { ...draft, none: false } : { ...draft, spans: [], none: true };
}

/** The label a draft makes, or null while it says nothing yet (Enter does nothing then). */
export function answerOf(draft: Draft): LabelAnswer | null {
  switch (draft.type) {
    case 'single_choice':
      return draft.choice === null ? null : { type: 'single_choice', choice: draft.choice };
    case 'multi_choice':
      return draft.choices.length === 0 ? null : { type: 'multi_choice', choices: draft.choices };
    case 'pairwise':
      return draft.preferred === null ? null : { type: 'pairwise', preferred: draft.preferred };
    case 'spans':
      return draft.spans.length === 0 && !draft.none ? null : { type: 'spans', spans: draft.spans };
  }
}

/** Why an answer does not fit its task, in words; null when it fits. The server checks again. */
export function answerProblem(task: LeasedTask, answer: LabelAnswer): string | null {
  const schema = task.labelSchema;
  if (answer.type !== schema.type) return `This task needs a ${schema.type} answer, not ${answer.type}.`;
  switch (answer.type) {
    case 'single_choice':
      return optionsOf(schema).includes(answer.choice) ? null : `"${answer.choice}" is not one of the choices.`;
    case 'multi_choice': {
      const unknown = answer.choices.find((choice) => !optionsOf(schema).includes(choice));
      if (unknown !== undefined) return `"${unknown}" is not one of the choices.`;
      return new Set(answer.choices).size === answer.choices.length ? null : 'A choice is given twice.';
    }
    case 'pairwise':
      return null;
    case 'spans': {
      const length = task.content.type === 'text' ? task.content.text.length : 0;
      for (const span of answer.spans) {
        if (span.end <= span.start || span.end > length)
          return `A marked span (${span.start}-${span.end}) is not in the text.`;
        if (!optionsOf(schema).includes(span.label)) return `"${span.label}" is not one of the span labels.`;
      }
      return null;
    }
  }
}
