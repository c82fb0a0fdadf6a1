import { useCallback } from 'react';
import { formatDateTime } from '@/lib/format';
import { sendMessage } from '@/lib/messages';
import { isPaused } from '@/lib/settings';
import { ErrorText } from './ui/error-text';
import { useAction } from './use-action';
import { useNow } from './use-now';

const pauseChoices = [1, 8, 24] as const;
const hourMs = 60 * 60 * 1000;

/** Pause for a while (it ends by itself) or resume now. */
export function PauseControls({ pausedUntil }: { pausedUntil: number | null }) {
  const now = useNow();
  const pause = useCallback((until: number | null) => sendMessage('pause', { until }), []);
  const { run, pending, error } = useAction(pause);
  const paused = pausedUntil !== null && isPaused({ pausedUntil }, now);

  return (
    <div className="space-y-3">
      {paused ? (
        <p data-testid="paused-until" className="text-sm">
          Paused until {formatDateTime(pausedUntil)}. Gleaner resumes by itself after that.
        </p>
      ) : (
        <p className="text-sm text-slate-600">Not paused.</p>
      )}
      <div className="flex flex-wrap gap-2">
        {pauseChoices.map((hours) => (
          <button
            key={hours}
            type="button"
            data-testid={`pause-${hours}h`}
            disabled={pending}
            onClick={() => run(Date.now() + hours * hourMs)}
            className="rounded-md border border-slate-300 px-3 py-1.5 text-sm hover:bg-slate-100 disabled:opacity-60"
          >
            Pause {hours} h
          </button>
        ))}
        {paused && (
          <button
            type="button"
            data-testid="resume"
            disabled={pending}
            onClick={() => run(null)}
            className="rounded-md bg-emerald-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-emerald-700 disabled:opacity-60"
          >
            Resume now
          </button>
        )}
      </div>
      <ErrorText error={error} testId="pause-error" />
    </div>
  );
}
