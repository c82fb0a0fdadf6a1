import { useLiveQuery } from 'dexie-react-hooks';
import { formatDateTime } from '@/lib/format';
import { readRecentLabels, type ShownRecentLabel } from '@/lib/labeling-views';
import { useDb } from './db-context';
import { StateBadge, type StateLooks } from './ui/state-badge';

const stateLooks: StateLooks<ShownRecentLabel['state']> = {
  queued: { tone: 'neutral', words: 'Not sent yet' },
  sending: { tone: 'working', words: 'Sending' },
  accepted: { tone: 'good', words: 'Uploaded' },
  duplicate: { tone: 'good', words: 'Uploaded' },
  rejected: { tone: 'bad', words: 'Refused' },
  'set-aside': { tone: 'bad', words: 'Set aside' },
};

/** The recent labels, read live from the database the background writes: what was answered and what became of it. */
export function useRecentLabels() {
  const db = useDb();
  return useLiveQuery(() => readRecentLabels(db), [db]);
}

/** The labeler's recent labels, newest first, each with its state and, when refused, why. */
export function LabelingRecent() {
  const recent = useRecentLabels();
  return (
    <section aria-labelledby="recent-labels-heading" className="space-y-2">
      <h2 id="recent-labels-heading" className="text-base font-semibold">
        Your recent labels
      </h2>
      {recent === undefined ? (
        <p className="text-sm text-slate-500">Loading…</p>
      ) : recent.labels.length === 0 ? (
        <p data-testid="no-recent-labels" className="text-sm text-slate-600">
          No labels yet.
        </p>
      ) : (
        <ul
          data-testid="recent-labels"
          className="divide-y divide-slate-200 rounded-md border border-slate-200 text-sm"
        >
          {recent.labels.map((label) => (
            <li
              key={label.assignmentId}
              data-testid="recent-label"
              data-assignment-id={label.assignmentId}
              data-state={label.state}
              className="flex flex-wrap items-baseline gap-x-3 gap-y-1 px-3 py-2"
            >
              <span className="font-medium">{label.summary}</span>
              <span className="min-w-0 flex-1 truncate text-slate-600" title={label.projectName}>
                {label.projectName}
              </span>
              <span className="text-xs text-slate-500">{formatDateTime(label.labeledAt)}</span>
              <StateBadge state={label.state} looks={stateLooks} testId="recent-label-state" />
              {label.reason && <p className="w-full text-xs text-red-800">{label.reason}</p>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
