import { useCallback } from 'react';
import { formatDateTime } from '@/lib/format';
import { sendMessage } from '@/lib/messages';
import { isPaused } from '@/lib/settings';
import { ErrorText } from './ui/error-text';
import { useAction } from './use-action';
import { useNow } from './use-now';

const pauseChoices = [1, 8, 24] as const;
const hourMs = 60 * 60 * 1000;

/**
 * Pause page fetching for a while (it ends by itself) or resume now. Labeling is not paused: it uses
 * no bandwidth to speak of, and the person doing it is there.
 */
export function PauseControls({ pausedUntil }: { pausedUntil: number | null }) {
  const now = useNow();
  const pause = useCallback((until: number | null) => sendMessage('pause', { until }), []);
  const { run, pending, error } = useAction(pause);
  const paused = pausedUntil !== null && isPaused({ pausedUntil }, now);

  return (
    <div data-testid="pause-control" className="space-y-1">
      {paused ? (
        <div className="flex items-center gap-2">
          <p data-testid="paused-until" className="min-w-0 flex-1 text-sm">
            Fetching paused until {formatDateTime(pausedUntil)}. Labeling goes on.
          </p>
          <button
            type="button"
            data-testid="resume"
            disabled={pending}
            onClick={() => run(null)}
            className="shrink-0 rounded-md bg-emerald-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-emerald-700 disabled:opacity-60"
          >
            Resume
          </button>
        </div>
      ) : (
        <div className="flex items-center gap-2">
          <span className="text-sm text-slate-600">Pause fetching</span>
          {pauseChoices.map((hours) => (
            <button
              key={hours}
              type="button"
              data-testid={`pause-${hours}h`}
              disabled={pending}
              onClick={() => run(Date.now() + hours * hourMs)}
              className="rounded-md border border-slate-300 px-2.5 py-1 text-sm hover:bg-slate-100 disabled:opacity-60"
            >
              {hours} h
            </button>
          ))}
        </div>
      )}
      <ErrorText error={error} testId="pause-error" />
    </div>
  );
}
