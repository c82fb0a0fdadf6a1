import type { ReactNode } from 'react';
import { ConnectionSummary } from '@/components/connection-summary';
import { ConsentScreen } from '@/components/consent-screen';
import { ConsentStatus } from '@/components/consent-status';
import { DeadLetterList } from '@/components/dead-letters';
import { FetchLogTable } from '@/components/fetch-log-table';
import { HistoryDataControls } from '@/components/history-data-controls';
import { HistorySection } from '@/components/history-section';
import { PauseControls } from '@/components/pause-controls';
import { PointsSummary } from '@/components/points-summary';
import { SettingsForm } from '@/components/settings-form';
import { TodaySummary } from '@/components/today-summary';
import { useSettings } from '@/components/use-settings';
import { WalletLinkSection } from '@/components/wallet-link-section';
import { hasConsent } from '@/lib/settings';

/** The options page: the consent screen until the person agrees, then their settings. */
export function App() {
  const settings = useSettings();
  return (
    <main className="mx-auto max-w-3xl space-y-6 p-6">
      <header>
        <h1 className="text-2xl font-semibold">Gleaner</h1>
      </header>
      {settings === undefined ? (
        <p className="text-slate-500">Loading…</p>
      ) : !hasConsent(settings) ? (
        <Card>
          <ConsentScreen serverUrl={settings.serverUrl} />
        </Card>
      ) : (
        <>
          <Card title="Connection">
            <ConnectionSummary connection={settings.connection} />
          </Card>
          <Card title="Your work">
            <div className="space-y-4">
              <TodaySummary />
              <PointsSummary points={settings.points} />
            </div>
          </Card>
          <Card title="Wallet">
            <WalletLinkSection />
          </Card>
          <Card title="Settings">
            <SettingsForm serverUrl={settings.serverUrl} dailyBudgetBytes={settings.dailyBudgetBytes} />
          </Card>
          <Card title="Pause">
            <PauseControls pausedUntil={settings.pausedUntil} />
          </Card>
          <Card title="Consent">
            <ConsentStatus consent={settings.consent} />
          </Card>
          <Card title="The last 30 days">
            <HistorySection />
          </Card>
          <Card title="Pages fetched from your connection">
            <FetchLogTable />
          </Card>
          <Card title="Your data in this browser">
            <HistoryDataControls />
          </Card>
          <Card title="Uploads the server refused">
            <DeadLetterList />
          </Card>
        </>
      )}
    </main>
  );
}

function Card({ title, children }: { title?: string; children: ReactNode }) {
  return (
    <section className="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
      {title && <h2 className="mb-3 text-lg font-medium">{title}</h2>}
      {children}
    </section>
  );
}
