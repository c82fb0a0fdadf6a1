import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiStandIn, closedPortUrl, startApiStandIn } from '../../testing/api-stand-in';
import { renderConsole } from '../../testing/render-console';
import { installBrowserWallet, resetWalletPage } from '../../testing/wallet';
import { noWalletMessage } from '../chain/wallet-errors';

const account = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
let standIn: ApiStandIn | undefined;

afterEach(async () => {
  resetWalletPage();
  await standIn?.close();
  standIn = undefined;
});

/**
 * A server whose `GET /v1/chain` names `chainId`. Each test uses its own chain id: the console keeps one
 * wagmi config per chain for the page's life, and a connection made in one test must not leak into the next.
 */
async function startChainApi(chainId: number) {
  return startApiStandIn(({ path }) =>
    path === '/v1/chain'
      ? { status: 200, body: { chainId, rpcUrl: null, local: true, contracts: null } }
      : { status: 404, body: { code: 'not_found', message: 'Not here.' } },
  );
}

/** A browser wallet (EIP-1193) that answers each method with `answer`, throwing what it throws, as wallets reject. */
function installWallet(answer: (method: string) => unknown) {
  installBrowserWallet(({ method }) => answer(method));
}

describe('the Rewards page', () => {
  it('says in words that no wallet is installed, and offers no Connect button', async () => {
    standIn = await startChainApi(31_001);
    renderConsole({ baseUrl: standIn.url, path: '/rewards' });
    expect((await screen.findByTestId('wallet-missing')).textContent).toBe(noWalletMessage);
    expect(screen.queryByRole('button', { name: 'Connect wallet' })).toBeNull();
  });

  it('says so on the link page too, where the extension sends people', async () => {
    standIn = await startChainApi(31_002);
    renderConsole({ baseUrl: standIn.url, path: `/rewards/link?device=${account}&code=ABCD2345` });
    expect((await screen.findByTestId('wallet-missing')).textContent).toBe(noWalletMessage);
  });

  it('says the person declined when the wallet rejects the connection', async () => {
    standIn = await startChainApi(31_003);
    installWallet((method) => {
      if (method === 'eth_accounts') return [];
      throw Object.assign(new Error('User rejected the request.'), { code: 4001 });
    });
    renderConsole({ baseUrl: standIn.url, path: '/rewards' });
    await userEvent.click(await screen.findByRole('button', { name: 'Connect wallet' }));
    expect((await screen.findByTestId('wallet-error')).textContent).toBe(
      'You declined the request in your wallet, so nothing was signed or sent.',
    );
  });

  it('names the reward chain and offers to switch when the wallet is on another one', async () => {
    standIn = await startChainApi(31_004);
    installWallet((method) => {
      if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [account];
      if (method === 'eth_chainId') return '0x1';
      // This wallet cannot switch by itself: the page must say where to go instead of failing to connect.
      throw Object.assign(new Error('Unsupported method'), { code: 4200 });
    });
    renderConsole({ baseUrl: standIn.url, path: '/rewards' });
    await userEvent.click(await screen.findByRole('button', { name: 'Connect wallet' }));
    expect((await screen.findByTestId('wallet-wrong-chain')).textContent).toMatch(
      /another network \(chain id 1\)\. Rewards are on chain id 31004\./,
    );
    expect(screen.getByRole('button', { name: 'Switch to chain 31004' })).toBeTruthy();
    expect(screen.queryByTestId('wallet-sign-in')).toBeNull();
  });

  it('says the server is unreachable when the chain cannot be read', async () => {
    renderConsole({ baseUrl: await closedPortUrl(), path: '/rewards' });
    await waitFor(() => expect(screen.getByTestId('chain-status').textContent).toMatch(/server is unreachable/));
  });
});
