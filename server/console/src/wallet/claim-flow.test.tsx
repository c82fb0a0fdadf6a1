import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { type Address, parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestChain, type TestChain } from '../../../../contracts/test-chain';
import type { ApiStandIn } from '../../testing/api-stand-in';
import { renderConsole } from '../../testing/render-console';
import {
  deployRewards,
  installChainWallet,
  publishEpoch,
  resetWalletPage,
  startRewardsApi,
} from '../../testing/wallet';

let chain: TestChain;
let standIn: ApiStandIn;
let wallet: Address;
const sent: unknown[] = [];
let declineNextSend = false;
const cumulative = parseEther('5');

/**
 * A real chain: anvil with the compiled token and distributor, epoch 1 published with the wallet's 5 GLR.
 * The browser wallet forwards everything to anvil and can be told to decline the next transaction.
 */
beforeAll(async () => {
  chain = await startTestChain();
  const [operator, contributor, other] = chain.accounts as [Address, Address, Address];
  wallet = contributor;
  const rewards = await deployRewards(chain, operator);
  const tree = await publishEpoch(
    chain,
    rewards,
    1,
    [
      [wallet, cumulative],
      [other, parseEther('1')],
    ],
    parseEther('6'),
  );
  installChainWallet(chain, wallet, (transaction) => {
    if (declineNextSend) {
      declineNextSend = false;
      throw Object.assign(new Error('User denied transaction signature.'), { code: 4001 });
    }
    sent.push(transaction);
  });
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
  standIn = await startRewardsApi(chain, rewards, overview, new Map([[1, tree]]));
}, 120_000);

afterAll(async () => {
  resetWalletPage();
  await standIn?.close();
  await chain?.anvil.stop();
});

describe('claiming rewards on chain', () => {
  it('says a declined claim in words, claims the epoch’s tokens, shows the new balance, and refuses a second claim without sending it', async () => {
    const session = { token: `gls_${'c'.repeat(43)}`, wallet, expiresAt: '2099-01-01T00:00:00.000Z' };
    renderConsole({ path: '/rewards', baseUrl: standIn.url, session });
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
