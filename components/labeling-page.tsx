import { hasConsent } from '@/lib/settings';
import { LabelingPanel } from './labeling-panel';
import { useSettings } from './use-settings';

/**
 * Labeling as its own page: the panel at full width with the choice of project, the instructions
 * and their examples, and the recent labels. Without consent it says so and labels nothing.
 */
export function LabelingPage() {
  const settings = useSettings();
  return (
    <main className="mx-auto max-w-3xl space-y-4 p-6">
      <h1 className="text-xl font-semibold">Gleaner labeling</h1>
      {settings === undefined ? (
        <p className="text-sm text-slate-500">Loading…</p>
      ) : hasConsent(settings) ? (
        <LabelingPanel settings={settings} full />
      ) : (
        <p data-testid="labeling-no-consent" className="text-sm text-slate-700">
          Gleaner is not running. Open its settings to read what it does and to agree; then label here.
        </p>
      )}
    </main>
  );
}
