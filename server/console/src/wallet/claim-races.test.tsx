import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { type Address, parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestChain, type TestChain } from '../../../../contracts/test-chain';
import type { ApiStandIn } from '../../testing/api-stand-in';
import { renderConsole } from '../../testing/render-console';
import {
  deployRewards,
  type EpochTree,
  installChainWallet,
  publishEpoch,
  type RewardContracts,
  resetWalletPage,
  startRewardsApi,
} from '../../testing/wallet';

let chain: TestChain;
let standIn: ApiStandIn;
let rewards: RewardContracts;
let wallet: Address;
/** Every transaction the page asked the wallet to send. */
const sent: unknown[] = [];
/** Each published epoch's tree, as the server would serve its proofs. */
const trees = new Map<number, EpochTree>();

async function publish(epoch: number, entries: [Address, bigint][], mint: bigint): Promise<void> {
  trees.set(epoch, await publishEpoch(chain, rewards, epoch, entries, mint));
}

/** A real chain (anvil, the compiled token and distributor) behind a browser wallet; the API answers proofs of every published epoch. */
beforeAll(async () => {
  chain = await startTestChain();
  const [operator, , , contributor, other] = chain.accounts as Address[];
  wallet = contributor as Address;
  rewards = await deployRewards(chain, operator as Address);
  await publish(
    1,
    [
      [wallet, parseEther('1')],
      [other as Address, parseEther('1')],
    ],
    parseEther('2'),
  );
  installChainWallet(chain, wallet, (transaction) => sent.push(transaction));
  const overview = {
    wallet,
    devices: [],
    formerDevices: [],
    points: { pending: 0, verifiedUnpaid: 0, paid: 10, rejected: 0, reversed: 0, debt: 0 },
    nextEpoch: { epoch: 3, points: 0, pointsTotal: 0, pool: '0', estimatedAmount: '0', closesAt: null },
    rewards: { latestEpoch: 1, cumulative: parseEther('1').toString(), epochs: [] },
  };
  standIn = await startRewardsApi(chain, rewards, overview, trees);
}, 120_000);

afterAll(async () => {
  resetWalletPage();
  await standIn?.close();
  await chain?.anvil.stop();
});

describe('claiming against a moving chain', () => {
  it('sends one claim for a double click, and claims a newly published epoch with its own proof, not the stale one', async () => {
    const session = { token: `gls_${'d'.repeat(43)}`, wallet, expiresAt: '2099-01-01T00:00:00.000Z' };
    renderConsole({ path: '/rewards', baseUrl: standIn.url, session });
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
    await publish(
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
