import { healthSchema } from '@protocol/health';
import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { createApiClient } from '../api/api-client';
import { Fact, Facts } from '../layout/facts';
import { Section } from '../layout/page-header';
import { QueryError } from '../layout/query-error';

const publicApi = createApiClient({ apiKey: null });

function ServerStatus() {
  const health = useQuery({
    queryKey: ['health'],
    queryFn: () => publicApi.request('/health', healthSchema),
    refetchInterval: 5000,
  });
  if (health.isPending) return <p data-testid="server-status">Checking the server…</p>;
  if (health.isError) return <QueryError error={health.error} testId="server-status" />;
  const { data } = health;
  return (
    <Facts>
      <Fact term="Status" testId="server-status" className="font-medium text-emerald-700">
        {data.status === 'ok' ? 'Online' : data.status}
      </Fact>
      <Fact term="Version">{data.version}</Fact>
      <Fact term="Database" testId="server-database">
        {data.database === 'pglite' ? 'Embedded (PGlite)' : 'PostgreSQL'}
      </Fact>
      <Fact term="Registered devices" testId="server-devices">
        {data.devices}
      </Fact>
      <Fact term="Device sessions (this process)" testId="server-device-sessions">
        {data.deviceSessions.held} open; {data.deviceSessions.accepted} requests accepted, {data.deviceSessions.refused}{' '}
        refused
      </Fact>
      <Fact term="Uptime">{data.uptimeSeconds} s</Fact>
    </Facts>
  );
}

/** Where contributors go: the wallet pages live under Rewards, which reads the server's chain first. */
function ContributorLinks() {
  return (
    <div className="space-y-2 text-sm">
      <p>
        Connect your wallet and sign in to see your points per day, your devices and the rewards each epoch paid, and to
        claim your tokens.
      </p>
      <p className="flex flex-wrap gap-4">
        <Link to="/rewards" className="underline" data-testid="status-rewards-link">
          Open your rewards
        </Link>
        <Link to="/rewards/link" search={{}} className="underline">
          Link a device to your wallet
        </Link>
      </p>
    </div>
  );
}

/** The landing page: the server's health, and the way to the contributor's rewards. */
export function StatusPage() {
  return (
    <div className="space-y-6">
      <p className="text-stone-600">
        Contributors link wallets and claim rewards; buyers manage campaigns, projects and datasets.
      </p>
      <Section title="Server">
        <ServerStatus />
      </Section>
      <Section title="Contributors">
        <ContributorLinks />
      </Section>
      <footer className="text-sm text-stone-500">
        API reference:{' '}
        <a className="underline" href="/docs">
          /docs
        </a>{' '}
        ·{' '}
        <a className="underline" href="/openapi.json">
          openapi.json
        </a>
      </footer>
    </div>
  );
}
