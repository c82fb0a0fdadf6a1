import { useLiveQuery } from 'dexie-react-hooks';
import { countDeadLetters, type DeadLetterSummary, listDeadLetters } from '@/lib/dead-letters';
import { formatDateTime } from '@/lib/format';
import { sendMessage } from '@/lib/messages';
import { describeBatchRefusal } from '@/lib/verdicts';
import { useDb } from './db-context';
import { ErrorText } from './ui/error-text';
import { useAction } from './use-action';

const plural = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;

function whatItHeld(letter: Pick<DeadLetterSummary, 'results' | 'labels'>): string {
  const parts = [];
  if (letter.results > 0) parts.push(plural(letter.results, 'page result', 'page results'));
  if (letter.labels > 0) parts.push(plural(letter.labels, 'label', 'labels'));
  return parts.join(' and ');
}

const deleteDeadLetters = (ids: number[]) => sendMessage('deleteDeadLetters', { ids });

/**
 * Uploads the server refused for good and that were set aside so the rest could go (options page):
 * when, what they held, and why in words with the server's own message; each can be deleted.
 */
export function DeadLetterList() {
  const db = useDb();
  const letters = useLiveQuery(() => listDeadLetters(db), [db]);
  const { run, pending, error } = useAction(deleteDeadLetters);
  if (letters === undefined) return <p className="text-sm text-slate-500">Loading…</p>;
  if (letters.length === 0) {
    return (
      <p data-testid="dead-letters-empty" className="text-sm text-slate-500">
        Nothing was set aside: the server answered every upload.
      </p>
    );
  }
  return (
    <div className="space-y-3">
      <p className="text-sm text-slate-700">
        The server refused these uploads as a whole, so Gleaner set them aside and sent the rest. They earn nothing;
        delete them once you have read why.
      </p>
      <ul data-testid="dead-letters" className="space-y-2">
        {letters.map((letter) => (
          <li
            key={letter.id}
            data-testid="dead-letter"
            className="flex items-start justify-between gap-3 rounded-md border border-red-200 bg-red-50 p-3 text-sm"
          >
            <div className="min-w-0 space-y-0.5">
              <p className="font-medium text-red-900">{describeBatchRefusal(letter.code)}</p>
              <p className="break-words text-red-800">The server said: {letter.message}</p>
              <p className="text-xs text-slate-600">
                {whatItHeld(letter)} · set aside {formatDateTime(letter.at)}
              </p>
            </div>
            <button
              type="button"
              data-testid="delete-dead-letter"
              disabled={pending}
              onClick={() => void run([letter.id])}
              className="shrink-0 rounded-md border border-slate-300 bg-white px-2.5 py-1 hover:bg-slate-100 disabled:opacity-60"
            >
              Delete
            </button>
          </li>
        ))}
      </ul>
      {letters.length > 1 && (
        <button
          type="button"
          data-testid="delete-all-dead-letters"
          disabled={pending}
          onClick={() => void run(letters.map((letter) => letter.id))}
          className="rounded-md border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-100 disabled:opacity-60"
        >
          Delete all
        </button>
      )}
      <ErrorText error={error} />
    </div>
  );
}

/** The popup's note that uploads were set aside, with how many; nothing when there are none. */
export function DeadLetterNotice() {
  const db = useDb();
  const count = useLiveQuery(() => countDeadLetters(db), [db]);
  if (!count || count.batches === 0) return null;
  return (
    <p data-testid="dead-letter-count" role="status" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
      {plural(count.records, 'result', 'results')} could not be uploaded and {count.records === 1 ? 'was' : 'were'} set
      aside. The settings page says why.
    </p>
  );
}
