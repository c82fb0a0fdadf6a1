import { useMutation, useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { Button } from '@ui/button';
import { ErrorText } from '@ui/error-text';
import { Cell, Table } from '@ui/table';
import type { Address } from 'viem';
import { contributorApi } from '../api/contributor-api';
import { formatTokenAmount } from '../chain/claimable';
import { describeWalletError } from '../chain/wallet-errors';
import { Fact, Facts } from '../layout/facts';
import { formatDateTime } from '../layout/format';
import { PageHeader, Section } from '../layout/page-header';
import { QueryError } from '../layout/query-error';
import { ClaimPanel } from './claim-panel';
import { useContributorSession, walletQueryKey } from './contributor-session';
import { DevicesTable } from './devices-table';
import { LedgerTable } from './ledger-table';
import { PointsChart } from './points-chart';
import { shapePointsByDay } from './points-chart-data';
import { useRewardChain } from './reward-chain';
import { useWalletSignature } from './use-wallet-signature';
import { WalletGate } from './wallet-gate';

const chartDays = 30;

/** `/#/rewards`: connect the wallet, sign in with it, then the contributor's points, devices and rewards. */
export function RewardsPage() {
  return (
    <div className="space-y-6">
      <PageHeader title="Rewards">
        <Link to="/rewards/link" search={{}} className="text-sm underline">
          Link a device
        </Link>
      </PageHeader>
      <Section title="Wallet">
        <WalletGate>{(address) => <SignedIn address={address} />}</WalletGate>
      </Section>
    </div>
  );
}

/** The dashboard once the wallet has signed in; the Sign in button until then (or when the session is another wallet's). */
function SignedIn({ address }: { address: Address }) {
  const { session, api, publicApi, signIn, signOut } = useContributorSession();
  const sign = useWalletSignature();
  const start = useMutation({
    mutationFn: async () => signIn(await contributorApi.signIn(publicApi, await sign(address, { action: 'sign-in' }))),
  });
  const end = useMutation({
    mutationFn: async () => {
      // Sign out here even when the server cannot be told: the person asked to leave.
      await contributorApi.signOut(api).catch(() => undefined);
    },
    onSettled: signOut,
  });
  if (!session || session.wallet.toLowerCase() !== address.toLowerCase()) {
    return (
      <div className="space-y-2 text-sm">
        <p>
          Sign in with this wallet to see its points and rewards. Your wallet asks you to sign a message; it costs
          nothing.
        </p>
        <Button data-testid="wallet-sign-in" disabled={start.isPending} onClick={() => start.mutate()}>
          {start.isPending ? 'Waiting for your wallet…' : 'Sign in with wallet'}
        </Button>
        <ErrorText error={start.error ? describeWalletError(start.error) : null} testId="wallet-sign-in-error" />
      </div>
    );
  }
  return (
    <div className="space-y-6">
      <p className="flex items-center gap-3 text-sm">
        <span data-testid="wallet-signed-in">Signed in until {formatDateTime(session.expiresAt)}.</span>
        <Button variant="secondary" disabled={end.isPending} onClick={() => end.mutate()}>
          Sign out
        </Button>
      </p>
      <Dashboard address={address} />
    </div>
  );
}

function Dashboard({ address }: { address: Address }) {
  const { api } = useContributorSession();
  const { contracts } = useRewardChain();
  const overview = useQuery({ queryKey: [...walletQueryKey, 'overview'], queryFn: () => contributorApi.overview(api) });
  const byDay = useQuery({
    queryKey: [...walletQueryKey, 'points-by-day', chartDays],
    queryFn: () => contributorApi.pointsByDay(api, chartDays),
  });
  // Amounts are shown in the token's own units; a server with no contracts still pays in base units.
  const format = (amount: string) =>
    formatTokenAmount(amount, contracts?.tokenDecimals ?? 18, contracts?.tokenSymbol ?? 'tokens');
  const data = overview.data;
  return (
    <>
      <QueryError error={overview.error} testId="dashboard-error" />
      <Section title="Points per day (last 30 days)">
        <QueryError error={byDay.error} />
        {byDay.data ? <PointsChart rows={shapePointsByDay(byDay.data.days, chartDays, new Date())} /> : <p>Loading…</p>}
      </Section>
      {data && (
        <>
          <Section title="Points">
            <Facts>
              <Fact term="Verified, not yet paid" testId="dashboard-points-verified">
                {data.points.verifiedUnpaid}
              </Fact>
              <Fact term="Pending verification" testId="dashboard-points-pending">
                {data.points.pending}
              </Fact>
              <Fact term="Paid in epochs" testId="dashboard-points-paid">
                {data.points.paid}
              </Fact>
              <Fact term="Rejected" testId="dashboard-points-rejected">
                {data.points.rejected}
              </Fact>
              <Fact term="Reversed after payment" testId="dashboard-points-reversed">
                {data.points.reversed}
                {data.points.debt > 0 && ` (${data.points.debt} still to deduct from the next epoch)`}
              </Fact>
            </Facts>
          </Section>
          <Section title="Devices">
            <DevicesTable wallet={address} devices={data.devices} />
            {data.formerDevices.length > 0 && (
              <p className="text-xs text-stone-500">
                Formerly linked: {data.formerDevices.map((d) => d.address).join(', ')} (their history is kept).
              </p>
            )}
          </Section>
          <Section title="Next epoch">
            <Facts>
              <Fact term="Epoch">{data.nextEpoch.epoch}</Fact>
              <Fact term="Your points in it" testId="next-epoch-points">
                {data.nextEpoch.points} of {data.nextEpoch.pointsTotal}
              </Fact>
              <Fact term="Pool">{format(data.nextEpoch.pool)}</Fact>
              <Fact term="Estimate if it closed now" testId="next-epoch-estimate">
                {format(data.nextEpoch.estimatedAmount)}
              </Fact>
              <Fact term="Closes">
                {data.nextEpoch.closesAt ? formatDateTime(data.nextEpoch.closesAt) : 'when the operator closes it'}
              </Fact>
            </Facts>
          </Section>
          <Section title="Rewards per epoch">
            {data.rewards.epochs.length === 0 ? (
              <p className="text-sm text-stone-600" data-testid="rewards-epochs-empty">
                No epoch has paid this wallet yet.
              </p>
            ) : (
              <Table caption="Rewards per epoch" columns={['Epoch', 'Points', 'Reversed', 'Tokens', 'On chain']}>
                {data.rewards.epochs.map((epoch) => (
                  <tr key={epoch.epoch} data-testid="rewards-epoch-row">
                    <Cell>{epoch.epoch}</Cell>
                    <Cell>{epoch.points}</Cell>
                    <Cell>{epoch.reversed}</Cell>
                    <Cell>{format(epoch.amount)}</Cell>
                    <Cell>{epoch.published ? 'published' : 'not yet'}</Cell>
                  </tr>
                ))}
              </Table>
            )}
            <Facts>
              <Fact term="Total earned" testId="rewards-cumulative">
                {format(data.rewards.cumulative)}
              </Fact>
            </Facts>
          </Section>
        </>
      )}
      <Section title="Claim">
        <ClaimPanel address={address} rewards={data?.rewards} />
      </Section>
      {data && (
        <Section title="Ledger">
          <LedgerTable devices={[...data.devices.map((d) => d.address), ...data.formerDevices.map((d) => d.address)]} />
        </Section>
      )}
    </>
  );
}
