import type { LabelSchema, LeasedTask } from '@protocol/labeling';
import { describe, expect, it } from 'vitest';
import {
  addSpan,
  answerOf,
  answerProblem,
  chooseOption,
  emptyDraft,
  isChosen,
  removeSpan,
  toggleNothingToMark,
} from './label-answer';

const single: LabelSchema = { type: 'single_choice', choices: ['positive', 'negative'] };
const multi: LabelSchema = { type: 'multi_choice', choices: ['red', 'green', 'blue'] };
const pairwise: LabelSchema = { type: 'pairwise' };
const spans: LabelSchema = { type: 'spans', labels: ['person', 'place'] };

describe('drafts', () => {
  it('single choice: a number key picks, the last one wins, keys past the choices do nothing', () => {
    let draft = emptyDraft(single);
    expect(answerOf(draft)).toBeNull();
    draft = chooseOption(draft, single, 3);
    expect(answerOf(draft)).toBeNull();
    draft = chooseOption(chooseOption(draft, single, 1), single, 2);
    expect(answerOf(draft)).toEqual({ type: 'single_choice', choice: 'negative' });
    expect([1, 2].map((n) => isChosen(draft, single, n))).toEqual([false, true]);
  });

  it('multi choice: number keys toggle, kept in the order of the choices; none chosen is no answer', () => {
    let draft = chooseOption(chooseOption(emptyDraft(multi), multi, 3), multi, 1);
    expect(answerOf(draft)).toEqual({ type: 'multi_choice', choices: ['red', 'blue'] });
    draft = chooseOption(chooseOption(draft, multi, 3), multi, 1);
    expect(answerOf(draft)).toBeNull();
  });

  it('pairwise: 1 is left, 2 right, 3 a tie', () => {
    expect([1, 2, 3].map((n) => answerOf(chooseOption(emptyDraft(pairwise), pairwise, n)))).toEqual([
      { type: 'pairwise', preferred: 'left' },
      { type: 'pairwise', preferred: 'right' },
      { type: 'pairwise', preferred: 'tie' },
    ]);
  });

  it('spans: added in text order, once each, removable; "nothing to mark" is an answer of its own', () => {
    let draft = emptyDraft(spans);
    expect(answerOf(draft)).toBeNull();
    draft = addSpan(draft, { start: 10, end: 15, label: 'place' });
    draft = addSpan(draft, { start: 0, end: 4, label: 'person' });
    draft = addSpan(draft, { start: 0, end: 4, label: 'person' });
    draft = addSpan(draft, { start: 5, end: 5, label: 'person' });
    expect(answerOf(draft)).toEqual({
      type: 'spans',
      spans: [
        { start: 0, end: 4, label: 'person' },
        { start: 10, end: 15, label: 'place' },
      ],
    });
    draft = removeSpan(draft, 0);
    expect(answerOf(draft)).toEqual({ type: 'spans', spans: [{ start: 10, end: 15, label: 'place' }] });
    draft = toggleNothingToMark(draft);
    expect(answerOf(draft)).toEqual({ type: 'spans', spans: [] });
    expect(answerOf(toggleNothingToMark(draft))).toBeNull();
  });
});

describe('answerProblem', () => {
  const task = (labelSchema: LabelSchema, text = 'Ada went to Paris.'): LeasedTask => ({
    assignmentId: '1',
    projectId: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
    projectName: 'p',
    instructions: 'i',
    labelSchema,
    content: { type: 'text', text },
    expiresAt: '2025-06-01T12:15:00.000Z',
  });

  it('accepts answers that fit and says what is wrong with those that do not', () => {
    expect(answerProblem(task(single), { type: 'single_choice', choice: 'positive' })).toBeNull();
    expect(answerProblem(task(single), { type: 'multi_choice', choices: [] })).toMatch(/single_choice answer/);
    expect(answerProblem(task(multi), { type: 'multi_choice', choices: ['red', 'red'] })).toMatch(/twice/);
    expect(answerProblem(task(spans), { type: 'spans', spans: [{ start: 12, end: 17, label: 'place' }] })).toBeNull();
    expect(answerProblem(task(spans), { type: 'spans', spans: [{ start: 12, end: 40, label: 'place' }] })).toMatch(
      /not in the text/,
    );
    expect(answerProblem(task(spans), { type: 'spans', spans: [{ start: 0, end: 3, label: 'city' }] })).toMatch(
      /"city"/,
    );
  });
});
