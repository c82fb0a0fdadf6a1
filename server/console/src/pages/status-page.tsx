import { healthSchema } from '@protocol/health';
import { useQuery } from '@tanstack/react-query';
import { useAccount, useConnect, useDisconnect } from 'wagmi';
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
      <Fact term="Uptime">{data.uptimeSeconds} s</Fact>
    </Facts>
  );
}

function WalletPanel() {
  const { address, isConnected } = useAccount();
  const { connect, connectors, isPending, error } = useConnect();
  const { disconnect } = useDisconnect();
  if (isConnected) {
    return (
      <div className="flex items-center gap-3 text-sm">
        <span className="font-mono">{address}</span>
        <button type="button" className="rounded border px-2 py-1" onClick={() => disconnect()}>
          Disconnect
        </button>
      </div>
    );
  }
  return (
    <div className="text-sm">
      {connectors.map((connector) => (
        <button
          key={connector.uid}
          type="button"
          className="rounded bg-stone-900 px-3 py-1.5 text-white disabled:opacity-50"
          disabled={isPending}
          onClick={() => connect({ connector })}
        >
          Connect {connector.name}
        </button>
      ))}
      {error && <p className="mt-2 text-red-700">{error.message}</p>}
      <p className="mt-2 text-stone-500">
        Linking a wallet to your devices and claiming rewards arrive with the rewards release.
      </p>
    </div>
  );
}

/** The landing page: the server's health and the contributor's wallet (the wallet pages grow here later). */
export function StatusPage() {
  return (
    <div className="space-y-6">
      <p className="text-stone-600">
        Contributors link wallets and claim rewards; buyers manage campaigns, projects and datasets.
      </p>
      <Section title="Server">
        <ServerStatus />
      </Section>
      <Section title="Wallet">
        <WalletPanel />
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
