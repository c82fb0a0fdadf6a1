import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createMemoryHistory, RouterProvider } from '@tanstack/react-router';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { type Address, type Hex, parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractArtifact } from '../../../../contracts/compile';
import { startTestChain, type TestChain } from '../../../../contracts/test-chain';
import { type ApiStandIn, startApiStandIn } from '../../testing/api-stand-in';
import { ApiKeyProvider } from '../auth/api-key-context';
import { createConsoleRouter } from '../router';
import { ContributorSessionProvider } from './contributor-session';

let chain: TestChain;
let standIn: ApiStandIn;
let wallet: Address;
let proof: Hex[];
const sent: string[] = [];
let declineNextSend = false;
const cumulative = parseEther('5');

/**
 * A real chain: anvil with the compiled token and distributor, epoch 1 published with the wallet's 5 GLR.
 * The browser wallet forwards everything to anvil (whose dev accounts are unlocked), as the end-to-end
 * test's injected provider does, and can be told to decline the next transaction.
 */
beforeAll(async () => {
  chain = await startTestChain();
  const [operator, contributor, other] = chain.accounts as [Address, Address, Address];
  wallet = contributor;
  const token = await chain.deploy('RewardToken', ['Gleaner Reward', 'GLR', operator]);
  const distributor = await chain.deploy('CumulativeMerkleDistributor', [token, operator]);
  const tree = StandardMerkleTree.of(
    [
      [wallet, cumulative.toString()],
      [other, parseEther('1').toString()],
    ],
    ['address', 'uint256'],
  );
  proof = tree.getProof(0) as Hex[];
  // The operator's calls use the full compiled ABIs: the console's fragments hold only what it calls.
  const send = { account: operator, chain: null } as const;
  const tokenAbi = (await contractArtifact('RewardToken')).abi;
  const distributorAbi = (await contractArtifact('CumulativeMerkleDistributor')).abi;
  await chain.mined(
    await chain.walletClient.writeContract({
      ...send,
      address: token,
      abi: tokenAbi,
      functionName: 'mint',
      args: [distributor, parseEther('6')],
    }),
  );
  await chain.mined(
    await chain.walletClient.writeContract({
      ...send,
      address: distributor,
      abi: distributorAbi,
      functionName: 'setEpoch',
      args: [1n, tree.root, 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'],
    }),
  );

  (window as { ethereum?: unknown }).ethereum = {
    request: async ({ method, params }: { method: string; params?: unknown[] }) => {
      if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [wallet];
      if (method === 'eth_sendTransaction') {
        if (declineNextSend) {
          declineNextSend = false;
          throw Object.assign(new Error('User denied transaction signature.'), { code: 4001 });
        }
        sent.push(method);
      }
      return chain.publicClient.request({ method, params } as never);
    },
    on: () => undefined,
    removeListener: () => undefined,
  };

  const overview = {
    wallet,
    devices: [],
    formerDevices: [],
    points: { pending: 0, verifiedUnpaid: 0, paid: 50, rejected: 0, reversed: 0, debt: 0 },
    nextEpoch: { epoch: 2, points: 0, pointsTotal: 0, pool: '0', estimatedAmount: '0', closesAt: null },
    rewards: {
      latestEpoch: 1,
      cumulative: cumulative.toString(),
      epochs: [{ epoch: 1, points: 50, reversed: 0, amount: cumulative.toString(), published: true }],
    },
  };
  const contracts = { token, distributor, registry: token, tokenSymbol: 'GLR', tokenDecimals: 18 };
  standIn = await startApiStandIn(({ path }) => {
    if (path === '/v1/chain') {
      return { status: 200, body: { chainId: 31_337, rpcUrl: chain.anvil.rpcUrl, local: true, contracts } };
    }
    if (path === '/v1/wallet') return { status: 200, body: overview };
    if (path.startsWith('/v1/wallet/points-by-day')) return { status: 200, body: { days: [] } };
    if (path.startsWith('/v1/wallet/ledger')) return { status: 200, body: { entries: [], nextCursor: null } };
    if (path === `/v1/epochs/1/proofs/${wallet}`) {
      const body = { epoch: 1, root: tree.root, account: wallet, cumulativeAmount: cumulative.toString(), proof };
      return { status: 200, body };
    }
    return { status: 404, body: { code: 'not_found', message: `No ${path} here.` } };
  });
}, 120_000);

afterAll(async () => {
  delete (window as { ethereum?: unknown }).ethereum;
  await standIn?.close();
  await chain?.anvil.stop();
});

describe('claiming rewards on chain', () => {
  it('says a declined claim in words, claims the epoch’s tokens, shows the new balance, and refuses a second claim without sending it', async () => {
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const session = { token: `gls_${'c'.repeat(43)}`, wallet, expiresAt: '2099-01-01T00:00:00.000Z' };
    render(
      <QueryClientProvider client={queryClient}>
        <ApiKeyProvider initialKey={null} baseUrl={standIn.url}>
          <ContributorSessionProvider baseUrl={standIn.url} initialSession={session}>
            <RouterProvider router={createConsoleRouter(createMemoryHistory({ initialEntries: ['/rewards'] }))} />
          </ContributorSessionProvider>
        </ApiKeyProvider>
      </QueryClientProvider>,
    );
    await userEvent.click(await screen.findByRole('button', { name: 'Connect wallet' }));
    await waitFor(() => expect(screen.getByTestId('rewards-claimable').textContent).toBe('5 GLR'), { timeout: 10_000 });
    expect(screen.getByTestId('rewards-claimable-epochs').textContent).toBe('1');
    expect(screen.getByTestId('rewards-balance').textContent).toBe('0 GLR');

    declineNextSend = true;
    await userEvent.click(screen.getByTestId('claim-button'));
    await waitFor(() =>
      expect(screen.getByTestId('claim-status').textContent).toBe(
        'The claim failed: you declined the request in your wallet, so nothing was signed or sent.',
      ),
    );
    expect(sent).toHaveLength(0);

    await userEvent.click(screen.getByTestId('claim-button'));
    await waitFor(() => expect(screen.getByTestId('claim-status').textContent).toBe('Claimed 5 GLR.'), {
      timeout: 15_000,
    });
    await waitFor(() => expect(screen.getByTestId('rewards-balance').textContent).toBe('5 GLR'));
    expect(screen.getByTestId('rewards-claimable').textContent).toBe('0 GLR');
    expect(sent).toHaveLength(1);

    await userEvent.click(screen.getByTestId('claim-button'));
    await waitFor(() =>
      expect(screen.getByTestId('claim-status').textContent).toBe(
        'Nothing left to claim: you have already claimed everything up to epoch 1.',
      ),
    );
    expect(sent).toHaveLength(1);
  }, 60_000);
});
