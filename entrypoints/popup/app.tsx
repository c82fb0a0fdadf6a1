import { useEffect } from 'react';
import { ConnectionSummary } from '@/components/connection-summary';
import { DeadLetterNotice } from '@/components/dead-letters';
import { LabelingPanel } from '@/components/labeling-panel';
import { PointsSummary } from '@/components/points-summary';
import { TodaySummary } from '@/components/today-summary';
import { ErrorText } from '@/components/ui/error-text';
import { useAction } from '@/components/use-action';
import { useSettings } from '@/components/use-settings';
import { formatDateTime } from '@/lib/format';
import { logger } from '@/lib/logger';
import { hasConsent, isPaused } from '@/lib/settings';
import { consoleDashboardUrl } from '@/lib/wallet-link';

interface AppProps {
  version: string;
  openOptions: () => Promise<void>;
  /** Asks the background to read the points now; the summary follows the stored copy live. */
  refreshPoints: () => Promise<unknown>;
}

/** The popup: the state at a glance, the next label task, today's work and points, and the way to the settings. */
export function App({ version, openOptions, refreshPoints }: AppProps) {
  const settings = useSettings();
  const { run, error } = useAction(openOptions);
  useEffect(() => {
    refreshPoints().catch((cause) => logger.warn('Could not refresh the points.', cause));
  }, [refreshPoints]);
  return (
    <main className="w-[380px] space-y-4 p-4">
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
          <ConnectionSummary connection={settings.connection} />
          {!hasConsent(settings) && (
            <p className="text-sm text-slate-700">
              Gleaner is not running. Open the settings to read what it does and to agree.
            </p>
          )}
          {settings.pausedUntil !== null && isPaused(settings, Date.now()) && (
            <p className="text-sm text-slate-700">Paused until {formatDateTime(settings.pausedUntil)}.</p>
          )}
          {hasConsent(settings) && (
            <>
              <LabelingPanel settings={settings} />
              <TodaySummary />
              <DeadLetterNotice />
              <PointsSummary points={settings.points} />
            </>
          )}
        </>
      )}
      <button
        type="button"
        data-testid="open-options"
        onClick={() => run()}
        className="w-full rounded-md bg-slate-800 px-3 py-2 text-sm font-medium text-white hover:bg-slate-900"
      >
        Open settings
      </button>
      <ErrorText error={error} />
    </main>
  );
}
