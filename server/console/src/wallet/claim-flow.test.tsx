import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { type Address, parseEther, toFunctionSelector } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestChain, type TestChain } from '../../../../contracts/test-chain';
import { type ApiStandIn, startApiStandIn } from '../../testing/api-stand-in';
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
let rpcRelay: ApiStandIn;
let wallet: Address;
const sent: unknown[] = [];
let declineNextSend = false;
/** Once the claim is sent, the page's reads of what the distributor has paid answer late (a slow RPC node). */
let slowClaimedReads = false;
const claimedSelector = toFunctionSelector('claimed(address)');
const cumulative = parseEther('5');

/**
 * A real chain: anvil with the compiled token and distributor, epoch 1 published with the wallet's 5 GLR.
 * The browser wallet forwards everything to anvil and can be told to decline the next transaction. The page
 * reads the chain through a relay to anvil that can make one kind of read slow, as a real node may.
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
    slowClaimedReads = true;
  });
  rpcRelay = await startApiStandIn(async ({ body }) => {
    const call = body as { method?: string; params?: [{ data?: string }] };
    if (slowClaimedReads && call.method === 'eth_call' && call.params?.[0]?.data?.startsWith(claimedSelector)) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const answer = await fetch(chain.anvil.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: answer.status, body: await answer.json() };
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
  standIn = await startRewardsApi(chain, rewards, overview, new Map([[1, tree]]), rpcRelay.url);
}, 120_000);

afterAll(async () => {
  resetWalletPage();
  await standIn?.close();
  await rpcRelay?.close();
  await chain?.anvil.stop();
});

describe('claiming rewards on chain', () => {
  it('says a declined claim in words, claims the epoch’s tokens, shows the new balance, and refuses a second claim without sending it', async () => {
    const session = { token: `gls_${'c'.repeat(43)}`, wallet, expiresAt: '2099-01-01T00:00:00.000Z' };
    renderConsole({ path: '/rewards', baseUrl: standIn.url, session });
    await userEvent.click(await screen.findByRole('button', { name: 'Connect wallet' }));
    // The epochs come from the wallet overview, the amounts from the chain: separate reads, waited for together.
    await waitFor(
      () => {
        expect(screen.getByTestId('rewards-claimable').textContent).toBe('5 GLR');
        expect(screen.getByTestId('rewards-claimable-epochs').textContent).toBe('1');
        expect(screen.getByTestId('rewards-balance').textContent).toBe('0 GLR');
      },
      { timeout: 10_000 },
    );
    // Every state the page shows: the claimed tokens must never read as both still claimable and in the wallet,
    // nor as still claimable under "Claimed".
    const shown = new Set<string>();
    const record = () => {
      const claimable = screen.queryByTestId('rewards-claimable')?.textContent;
      const held = screen.queryByTestId('rewards-balance')?.textContent;
      const step = screen.queryByTestId('claim-status')?.dataset.step ?? 'idle';
      if (claimable && held) shown.add(`${claimable} claimable, ${held} held, ${step}`);
    };
    const observer = new MutationObserver(record);
    observer.observe(document.body, { subtree: true, childList: true, characterData: true });

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
    observer.disconnect();
    expect([...shown].filter((state) => state.startsWith('5 GLR claimable, 5 GLR held'))).toEqual([]);
    expect(shown).not.toContain('5 GLR claimable, 0 GLR held, claimed');
    expect(shown).toContain('0 GLR claimable, 5 GLR held, claimed');

    await userEvent.click(screen.getByTestId('claim-button'));
    await waitFor(() =>
      expect(screen.getByTestId('claim-status').textContent).toBe(
        'Nothing left to claim: you have already claimed everything up to epoch 1.',
      ),
    );
    expect(sent).toHaveLength(1);
  }, 60_000);
});
