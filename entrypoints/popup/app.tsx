import { useCallback, useEffect } from 'react';
import { DeadLetterNotice } from '@/components/dead-letters';
import { NextTaskCard } from '@/components/next-task-card';
import { PauseControls } from '@/components/pause-controls';
import { PointsTotal } from '@/components/points-total';
import { PopupStatus } from '@/components/popup-status';
import { TodaySummary } from '@/components/today-summary';
import { ErrorText } from '@/components/ui/error-text';
import { useAction } from '@/components/use-action';
import { useNow } from '@/components/use-now';
import { useSettings } from '@/components/use-settings';
import { logger } from '@/lib/logger';
import { hasConsent } from '@/lib/settings';
import { consoleDashboardUrl } from '@/lib/wallet-link';

/** A User Timing mark (seen in DevTools' performance panel too). */
const interactiveMark = 'gleaner-popup-interactive';

/** While the popup stays open the server is asked this often, so "Connected" stays true within seconds. */
const checkEveryMs = 10_000;

interface AppProps {
  version: string;
  openOptions: () => Promise<void>;
  /** Opens labeling as its own page. */
  openLabeling: () => Promise<void>;
  /** Asks the background to read the points now; the summary follows the stored copy live. */
  refreshPoints: () => Promise<unknown>;
  /** Asks the background for a heartbeat now: offline at once if none, uploads at once when back. */
  checkConnection: () => Promise<unknown>;
}

/**
 * The popup, within Chrome's 380 × 600 px without scrolling: the state at a glance, the pause,
 * today's work, one points total, the way into labeling, and the way to the settings.
 */
export function App({ version, openOptions, openLabeling, refreshPoints, checkConnection }: AppProps) {
  const settings = useSettings();
  const now = useNow(60_000);
  const options = useAction(openOptions);
  const labeling = useAction(openLabeling);
  const check = useCallback(
    () => checkConnection().catch((cause) => logger.warn('Could not check the connection.', cause)),
    [checkConnection],
  );
  const retry = useAction(check);
  const ready = settings !== undefined;
  useEffect(() => {
    // Only once the settings are read: the check wakes the background, which writes the connection
    // state to the same table, and IndexedDB queues the popup's first read behind that write.
    if (!ready) return;
    // The check first: it brings the device back online, after which the points can be read.
    void check().then(() => refreshPoints().catch((cause) => logger.warn('Could not refresh the points.', cause)));
    const timer = setInterval(() => void check(), checkEveryMs);
    return () => clearInterval(timer);
  }, [ready, check, refreshPoints]);

  useEffect(() => {
    // The moment the popup is usable (settings read, every control drawn): bench/popup-open.ts reads it.
    if (ready && performance.getEntriesByName(interactiveMark).length === 0) performance.mark(interactiveMark);
  }, [ready]);

  const consent = settings !== undefined && hasConsent(settings);
  return (
    <main className="w-[380px] space-y-3 p-4">
      <header className="flex items-baseline justify-between">
        <h1 className="text-lg font-semibold">Gleaner</h1>
        <div className="flex items-baseline gap-3">
          {settings && (
            // The console is served by the configured server; a plain link opens it in a new tab.
            <a
              data-testid="open-dashboard"
              href={consoleDashboardUrl(settings.serverUrl)}
              target="_blank"
              rel="noreferrer"
              className="text-sm font-medium text-sky-700 underline hover:text-sky-900"
            >
              Open dashboard
            </a>
          )}
          <span data-testid="version" className="text-xs text-slate-500">
            {version}
          </span>
        </div>
      </header>
      {settings === undefined ? (
        <p className="text-sm text-slate-500">Loading…</p>
      ) : (
        <>
          <PopupStatus connection={settings.connection} onRetry={() => retry.run()} retrying={retry.pending} />
          {consent ? (
            <PauseControls pausedUntil={settings.pausedUntil} />
          ) : (
            <div data-testid="pause-control" className="flex items-center gap-2">
              <p className="min-w-0 flex-1 text-sm text-slate-700">
                Gleaner is not running. Read what it does and agree in the settings.
              </p>
              <button
                type="button"
                data-testid="start"
                onClick={() => options.run()}
                className="shrink-0 rounded-md bg-emerald-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-emerald-700"
              >
                Start
              </button>
            </div>
          )}
          <TodaySummary />
          <PointsTotal points={settings.points} now={now} />
          <NextTaskCard settings={settings} onOpen={() => labeling.run()} />
          <ErrorText error={labeling.error} testId="open-labeling-error" />
          {consent && <DeadLetterNotice />}
        </>
      )}
      <button
        type="button"
        data-testid="open-options"
        onClick={() => options.run()}
        className="w-full rounded-md bg-slate-800 px-3 py-1.5 text-sm font-medium text-white hover:bg-slate-900"
      >
        Open settings
      </button>
      <ErrorText error={options.error} />
    </main>
  );
}
