import { ConnectionSummary } from '@/components/connection-summary';
import { ErrorText } from '@/components/error-text';
import { useAction } from '@/components/use-action';
import { useSettings } from '@/components/use-settings';
import { formatDateTime } from '@/lib/format';
import { hasConsent, isPaused } from '@/lib/settings';

/** The popup: the state at a glance and the way to the settings. */
export function App({ version, openOptions }: { version: string; openOptions: () => Promise<void> }) {
  const settings = useSettings();
  const { run, error } = useAction(openOptions);
  return (
    <main className="w-80 space-y-4 p-4">
      <header className="flex items-baseline justify-between">
        <h1 className="text-lg font-semibold">Gleaner</h1>
        <span data-testid="version" className="text-xs text-slate-500">
          {version}
        </span>
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
