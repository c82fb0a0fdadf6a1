import type { LabelSchema } from '@protocol/labeling';

function numberKeys(schema: LabelSchema | null): string {
  switch (schema?.type) {
    case 'pairwise':
      return '1 left is better, 2 right is better, 3 tie';
    case 'multi_choice':
      return 'turn an answer on or off (several may apply)';
    case 'spans':
      return 'label the text you selected with the mouse';
    default:
      return 'choose an answer';
  }
}

/** The labeling keys, for the task shown (or in general when there is none). */
export function KeysHelp({ schema, id }: { schema: LabelSchema | null; id: string }) {
  const keys: [string, string][] = [
    ['1–9', numberKeys(schema)],
    ['Enter', 'submit the answer (once one is chosen)'],
    ['S', 'skip this task'],
    ['I', 'show or hide the instructions'],
    ['?', 'show or hide these keys'],
    ['Esc', 'close this help and the instructions'],
  ];
  return (
    <div id={id} data-testid="keys-help" className="rounded-md border border-slate-200 bg-slate-50 p-3">
      <h3 className="mb-1 text-sm font-medium">Keys</h3>
      <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1 text-xs">
        {keys.map(([key, what]) => (
          <div key={key} className="contents">
            <dt>
              <kbd className="rounded border border-slate-300 bg-white px-1 font-mono">{key}</kbd>
            </dt>
            <dd className="text-slate-700">{what}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
