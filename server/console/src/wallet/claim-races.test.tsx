import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createMemoryHistory, RouterProvider } from '@tanstack/react-router';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { type Abi, type Address, type Hex, parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractArtifact } from '../../../../contracts/compile';
import { startTestChain, type TestChain } from '../../../../contracts/test-chain';
import { type ApiStandIn, startApiStandIn } from '../../testing/api-stand-in';
import { ApiKeyProvider } from '../auth/api-key-context';
import { createConsoleRouter } from '../router';
import { ContributorSessionProvider } from './contributor-session';

let chain: TestChain;
let standIn: ApiStandIn;
let operator: Address;
let wallet: Address;
let token: Address;
let distributor: Address;
let tokenAbi: Abi;
let distributorAbi: Abi;
/** Every transaction the page asked the wallet to send. */
const sent: unknown[] = [];
/** Each published epoch's tree, as the server would serve its proofs. */
const trees = new Map<number, StandardMerkleTree<[string, string]>>();

async function publishEpoch(epoch: number, entries: [Address, bigint][], mint: bigint): Promise<void> {
  const tree = StandardMerkleTree.of(
    entries.map(([account, amount]) => [account, amount.toString()] as [string, string]),
    ['address', 'uint256'],
  );
  const send = { account: operator, chain: null } as const;
  await chain.mined(
    await chain.walletClient.writeContract({
      ...send,
      address: token,
      abi: tokenAbi,
      functionName: 'mint',
      args: [distributor, mint],
    }),
  );
  await chain.mined(
    await chain.walletClient.writeContract({
      ...send,
      address: distributor,
      abi: distributorAbi,
      functionName: 'setEpoch',
      args: [BigInt(epoch), tree.root, `bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52z${epoch}`],
    }),
  );
  trees.set(epoch, tree);
}

/** A real chain (anvil, the compiled token and distributor) behind a browser wallet; the API answers proofs of every published epoch. */
beforeAll(async () => {
  chain = await startTestChain();
  const [first, , , contributor, other] = chain.accounts as Address[];
  operator = first as Address;
  wallet = contributor as Address;
  token = await chain.deploy('RewardToken', ['Gleaner Reward', 'GLR', operator]);
  distributor = await chain.deploy('CumulativeMerkleDistributor', [token, operator]);
  tokenAbi = (await contractArtifact('RewardToken')).abi as Abi;
  distributorAbi = (await contractArtifact('CumulativeMerkleDistributor')).abi as Abi;
  await publishEpoch(
    1,
    [
      [wallet, parseEther('1')],
      [other as Address, parseEther('1')],
    ],
    parseEther('2'),
  );

  (window as { ethereum?: unknown }).ethereum = {
    request: async ({ method, params }: { method: string; params?: unknown[] }) => {
      if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [wallet];
      if (method === 'eth_sendTransaction') sent.push(params?.[0]);
      return chain.publicClient.request({ method, params } as never);
    },
    on: () => undefined,
    removeListener: () => undefined,
  };

  const overview = {
    wallet,
    devices: [],
    formerDevices: [],
    points: { pending: 0, verifiedUnpaid: 0, paid: 10, rejected: 0, reversed: 0, debt: 0 },
    nextEpoch: { epoch: 3, points: 0, pointsTotal: 0, pool: '0', estimatedAmount: '0', closesAt: null },
    rewards: { latestEpoch: 1, cumulative: parseEther('1').toString(), epochs: [] },
  };
  const contracts = { token, distributor, registry: token, tokenSymbol: 'GLR', tokenDecimals: 18 };
  standIn = await startApiStandIn(({ path }) => {
    if (path === '/v1/chain') {
      return { status: 200, body: { chainId: 31_337, rpcUrl: chain.anvil.rpcUrl, local: true, contracts } };
    }
    if (path === '/v1/wallet') return { status: 200, body: overview };
    if (path.startsWith('/v1/wallet/points-by-day')) return { status: 200, body: { days: [] } };
    if (path.startsWith('/v1/wallet/ledger')) return { status: 200, body: { entries: [], nextCursor: null } };
    const proofPath = /^\/v1\/epochs\/(\d+)\/proofs\/(0x[0-9a-fA-F]{40})$/.exec(path);
    const epoch = Number(proofPath?.[1]);
    const tree = trees.get(epoch);
    for (const [index, [account, amount]] of tree?.entries() ?? []) {
      if (account.toLowerCase() !== proofPath?.[2]?.toLowerCase()) continue;
      const proof = tree?.getProof(index) as Hex[];
      return { status: 200, body: { epoch, root: tree?.root, account, cumulativeAmount: amount, proof } };
    }
    return { status: 404, body: { code: 'not_found', message: `No ${path} here.` } };
  });
}, 120_000);

afterAll(async () => {
  delete (window as { ethereum?: unknown }).ethereum;
  await standIn?.close();
  await chain?.anvil.stop();
});

describe('claiming against a moving chain', () => {
  it('sends one claim for a double click, and claims a newly published epoch with its own proof, not the stale one', async () => {
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const session = { token: `gls_${'d'.repeat(43)}`, wallet, expiresAt: '2099-01-01T00:00:00.000Z' };
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
    await waitFor(() => expect(screen.getByTestId('rewards-claimable').textContent).toBe('1 GLR'), { timeout: 10_000 });

    // An impatient double click: one transaction, not a second one the wallet asks about and the chain refuses.
    await userEvent.dblClick(screen.getByTestId('claim-button'));
    await waitFor(() => expect(screen.getByTestId('claim-status').textContent).toBe('Claimed 1 GLR.'), {
      timeout: 15_000,
    });
    await waitFor(() => expect(screen.getByTestId('rewards-balance').textContent).toBe('1 GLR'));
    expect(sent).toHaveLength(1);

    // The operator publishes epoch 2 while the page is open, before its next look at the chain's epoch: the page
    // still holds epoch 1's proof, whose root the distributor no longer accepts.
    await publishEpoch(
      2,
      [
        [wallet, parseEther('3')],
        [chain.accounts[4] as Address, parseEther('1')],
      ],
      parseEther('2'),
    );
    await userEvent.click(screen.getByTestId('claim-button'));
    await waitFor(() => expect(screen.getByTestId('claim-status').textContent).toBe('Claimed 2 GLR.'), {
      timeout: 15_000,
    });
    await waitFor(() => expect(screen.getByTestId('rewards-balance').textContent).toBe('3 GLR'));
    expect(sent).toHaveLength(2);
  }, 60_000);
});
