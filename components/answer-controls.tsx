import type { LabelSchema } from '@protocol/labeling';
import { type Draft, isChosen, optionsOf } from '@/lib/label-answer';
import { spanColors } from './span-text';

export const focusRing = 'focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-sky-600';

const pairwiseNames: Record<string, string> = { left: 'Left is better', right: 'Right is better', tie: 'Tie' };

/** The words on option `option`'s button. */
function optionName(schema: LabelSchema, option: string): string {
  return schema.type === 'pairwise' ? (pairwiseNames[option] ?? option) : option;
}

/**
 * One button per option, numbered as its key: choices (chosen ones pressed), pairwise sides, or span
 * labels (which label the selected text). Span tasks also list the marked spans, each removable.
 */
export function AnswerControls({
  schema,
  draft,
  text,
  disabled,
  onOption,
  onRemoveSpan,
  onNothingToMark,
}: {
  schema: LabelSchema;
  draft: Draft;
  /** The item's text (span tasks: to show what each span covers). */
  text: string;
  disabled: boolean;
  onOption: (n: number) => void;
  onRemoveSpan: (index: number) => void;
  onNothingToMark: () => void;
}) {
  const options = optionsOf(schema);
  const spans = draft.type === 'spans' ? draft : null;
  return (
    <div className="space-y-2">
      {spans && <p className="text-xs text-slate-600">Select text with the mouse, then press a label’s number.</p>}
      <fieldset>
        <legend className="sr-only">{spans ? 'Span labels' : 'Answers'}</legend>
        <div className={schema.type === 'pairwise' ? 'grid grid-cols-3 gap-2' : 'flex flex-wrap gap-2'}>
          {options.map((option, index) => {
            const n = index + 1;
            const chosen = isChosen(draft, schema, n);
            return (
              <button
                key={option}
                type="button"
                data-testid={`choice-${n}`}
                data-choice={n}
                aria-keyshortcuts={String(n)}
                aria-pressed={spans ? undefined : chosen}
                disabled={disabled}
                // Span labels must not take the text selection away before they read it.
                onMouseDown={spans ? (event) => event.preventDefault() : undefined}
                onClick={() => onOption(n)}
                className={`min-w-0 rounded-md border px-2.5 py-1.5 text-left text-sm disabled:opacity-60 ${focusRing} ${
                  chosen
                    ? 'border-sky-700 bg-sky-700 text-white'
                    : 'border-slate-300 bg-white text-slate-900 hover:bg-slate-100'
                }`}
              >
                <kbd
                  className={`mr-1.5 rounded px-1 font-mono text-xs ${chosen ? 'bg-sky-900' : spans ? (spanColors[index] ?? 'bg-slate-100') : 'bg-slate-100'}`}
                >
                  {n}
                </kbd>
                <span className="break-words">{optionName(schema, option)}</span>
              </button>
            );
          })}
        </div>
      </fieldset>
      {spans && (
        <div className="space-y-1">
          {spans.spans.length > 0 ? (
            <ul data-testid="span-list" aria-label="Marked spans" className="space-y-1">
              {spans.spans.map((span, index) => {
                const covered = text.slice(span.start, span.end);
                return (
                  <li
                    key={`${span.start}-${span.end}-${span.label}`}
                    data-testid="span"
                    className="flex items-center justify-between gap-2 rounded-md bg-slate-50 px-2 py-1 text-xs"
                  >
                    <span className="min-w-0 truncate">
                      <span className="font-medium">{span.label}</span>: “{covered}”
                    </span>
                    <button
                      type="button"
                      data-testid={`remove-span-${index + 1}`}
                      aria-label={`Remove ${span.label} “${covered}”`}
                      disabled={disabled}
                      onClick={() => onRemoveSpan(index)}
                      className={`shrink-0 rounded px-1.5 py-0.5 text-slate-700 hover:bg-slate-200 ${focusRing}`}
                    >
                      Remove
                    </button>
                  </li>
                );
              })}
            </ul>
          ) : (
            <button
              type="button"
              data-testid="nothing-to-mark"
              aria-pressed={spans.none}
              disabled={disabled}
              onClick={onNothingToMark}
              className={`rounded-md border px-2.5 py-1 text-xs ${focusRing} ${
                spans.none ? 'border-sky-700 bg-sky-700 text-white' : 'border-slate-300 hover:bg-slate-100'
              }`}
            >
              Nothing to mark in this text
            </button>
          )}
        </div>
      )}
    </div>
  );
}
