import { walletSignInStatement } from '@protocol/contributors';
import { readWalletLinkResources } from '@protocol/wallets';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { type Hex, verifyMessage } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { parseSiweMessage } from 'viem/siwe';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiStandIn, type ReceivedRequest, startApiStandIn } from '../../testing/api-stand-in';
import { renderConsole } from '../../testing/render-console';
import { installBrowserWallet, resetWalletPage } from '../../testing/wallet';
import { readWalletSession } from './session-store';

// anvil's second dev key: a real key, so the signatures the page asks for are real and checked here.
const wallet = privateKeyToAccount('0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d');
const device = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const token = `gls_${'t'.repeat(43)}`;
let standIn: ApiStandIn | undefined;

afterEach(async () => {
  resetWalletPage();
  await standIn?.close();
  standIn = undefined;
});

/** The browser wallet: connected on `chainId`, signing personal_sign with the real key. */
function installWallet(chainId: number) {
  installBrowserWallet(({ method, params }) => {
    if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [wallet.address];
    if (method === 'eth_chainId') return `0x${chainId.toString(16)}`;
    if (method === 'personal_sign') return wallet.signMessage({ message: { raw: params?.[0] as Hex } });
    throw Object.assign(new Error(`Unsupported ${method}`), { code: 4200 });
  });
}

const overview = {
  wallet: wallet.address,
  devices: [
    {
      address: device,
      browser: 'chrome',
      extensionVersion: '1.4.0',
      trust: 0.87,
      lastSeenAt: new Date(Date.now() - 3 * 3_600_000).toISOString(),
      linkedAt: '2026-01-01T00:00:00.000Z',
      points: { pending: 3, verified: 40, rejected: 2 },
    },
  ],
  formerDevices: [],
  points: { pending: 3, verifiedUnpaid: 12, paid: 28, rejected: 2, reversed: 0, debt: 0 },
  nextEpoch: {
    epoch: 2,
    points: 12,
    pointsTotal: 48,
    pool: '1000000000000000000000',
    estimatedAmount: '250000000000000000000',
    closesAt: null,
  },
  rewards: {
    latestEpoch: 1,
    cumulative: '500000000000000000000',
    epochs: [{ epoch: 1, points: 28, reversed: 0, amount: '500000000000000000000', published: false }],
  },
};

const entry = (id: string, state: string) => ({
  id,
  device,
  reference: `job-${id}`,
  reason: 'scrape',
  points: 1,
  state,
  rejectionReason: state === 'rejected' ? 'The page did not match its audit.' : null,
  url: 'https://example.org/page',
  createdAt: '2026-03-01T10:00:00.000Z',
  settledAt: null,
  epoch: null,
});

/** The contributor API as the dashboard needs it; `/v1/wallet…` only with the session's token. */
async function startContributorApi(
  chainId: number,
  overrides: (request: ReceivedRequest) => unknown = () => undefined,
) {
  return startApiStandIn((request) => {
    const override = overrides(request);
    if (override) return override as { status: number; body?: unknown };
    const { path, method, authorization } = request;
    if (path === '/v1/chain') return { status: 200, body: { chainId, rpcUrl: null, local: true, contracts: null } };
    if (path === '/v1/wallets/nonce') {
      return { status: 200, body: { nonce: 'n0nce1234567890', expiresAt: '2099-01-01T00:00:00.000Z' } };
    }
    if (path === '/v1/wallets/session' && method === 'POST') {
      return { status: 201, body: { token, wallet: wallet.address, expiresAt: '2099-01-01T00:00:00.000Z' } };
    }
    if (path.startsWith('/v1/wallet') && authorization !== `Bearer ${token}`) {
      return { status: 401, body: { code: 'wallet_session_invalid', message: 'Sign in again.' } };
    }
    if (path === '/v1/wallet') return { status: 200, body: overview };
    if (path.startsWith('/v1/wallet/points-by-day')) {
      const today = new Date().toISOString().slice(0, 10);
      return { status: 200, body: { days: [{ day: today, verified: 5, pending: 2, rejected: 1 }] } };
    }
    if (path.startsWith('/v1/wallet/ledger')) {
      const query = new URL(path, 'http://x').searchParams;
      if (query.get('cursor') === 'page2')
        return { status: 200, body: { entries: [entry('3', 'verified')], nextCursor: null } };
      const state = query.get('state') ?? 'verified';
      return { status: 200, body: { entries: [entry('1', state), entry('2', state)], nextCursor: 'page2' } };
    }
    return { status: 404, body: { code: 'not_found', message: `No ${path} here.` } };
  });
}

/** The signed message the page sent to `path`. */
function signedBody(api: ApiStandIn, path: string): { message: string; signature: Hex } {
  const request = api.received.find((r) => r.path === path);
  if (!request) throw new Error(`The page sent nothing to ${path}`);
  return request.body as { message: string; signature: Hex };
}

async function connectAndSignIn() {
  await userEvent.click(await screen.findByRole('button', { name: 'Connect wallet' }));
  await userEvent.click(await screen.findByRole('button', { name: 'Sign in with wallet' }));
}

describe('the contributor dashboard', () => {
  it('signs in with a SIWE message the wallet really signed, then shows points, devices and the chart', async () => {
    standIn = await startContributorApi(31_101);
    installWallet(31_101);
    renderConsole({ baseUrl: standIn.url, path: '/rewards' });
    await connectAndSignIn();

    expect((await screen.findByTestId('dashboard-points-verified')).textContent).toBe('12');
    const { message, signature } = signedBody(standIn, '/v1/wallets/session');
    const fields = parseSiweMessage(message);
    expect(fields).toMatchObject({ statement: walletSignInStatement, chainId: 31_101, nonce: 'n0nce1234567890' });
    expect(fields.domain).toBe(window.location.host);
    expect(await verifyMessage({ address: wallet.address, message, signature })).toBe(true);
    expect(readWalletSession()?.token).toBe(token);

    expect(screen.getByTestId('next-epoch-estimate').textContent).toBe('250 tokens');
    expect(screen.getByTestId('device-trust').textContent).toBe('87%');
    expect(screen.getByTestId('device-last-contact').textContent).toBe('3 hours ago');
    const chart = await screen.findByTestId('points-chart');
    expect(chart.querySelectorAll('g[data-day]')).toHaveLength(30);
    expect(within(chart).getByText(/: 5 verified, 2 pending, 1 rejected$/)).toBeTruthy();
    // Epoch 1 is closed but not on chain: the claim panel says there is nothing to claim from contracts here.
    expect(screen.getByTestId('claim-status').textContent).toMatch(/epoch files only/);
  });

  it('filters the ledger by state and pages through it with the server’s cursor', async () => {
    standIn = await startContributorApi(31_102);
    installWallet(31_102);
    renderConsole({ baseUrl: standIn.url, path: '/rewards' });
    await connectAndSignIn();
    expect(await screen.findAllByTestId('ledger-row')).toHaveLength(2);

    await userEvent.selectOptions(screen.getByLabelText('State'), 'rejected');
    await waitFor(() => expect(screen.getAllByText('The page did not match its audit.')).toHaveLength(2));
    expect(standIn.received.some((r) => r.path.includes('/v1/wallet/ledger?state=rejected'))).toBe(true);

    await userEvent.click(screen.getByRole('button', { name: 'Older' }));
    await waitFor(() => expect(screen.getAllByTestId('ledger-row')).toHaveLength(1));
    expect(standIn.received.at(-1)?.path).toMatch(/state=rejected&cursor=page2/);
    expect(screen.getByText('Page 2')).toBeTruthy();
  });

  it('goes back to Sign in and forgets the session when the server no longer accepts it', async () => {
    let revoked = false;
    standIn = await startContributorApi(31_103, ({ path }) =>
      revoked && path.startsWith('/v1/wallet/')
        ? { status: 401, body: { code: 'wallet_session_expired', message: 'Your session has expired.' } }
        : undefined,
    );
    installWallet(31_103);
    renderConsole({ baseUrl: standIn.url, path: '/rewards' });
    await connectAndSignIn();
    await screen.findAllByTestId('ledger-row');
    revoked = true;
    await userEvent.selectOptions(screen.getByLabelText('State'), 'pending');
    expect(await screen.findByRole('button', { name: 'Sign in with wallet' })).toBeTruthy();
    expect(readWalletSession()).toBeNull();
  });
});

describe('linking a device', () => {
  it('signs a link message naming the device and code from the page’s address, and shows the link', async () => {
    standIn = await startContributorApi(31_104, ({ path }) =>
      path === '/v1/wallets/link'
        ? {
            status: 200,
            body: { device, wallet: wallet.address, linkedAt: '2026-03-02T10:00:00.000Z', unlinkedAt: null },
          }
        : undefined,
    );
    installWallet(31_104);
    renderConsole({ baseUrl: standIn.url, path: `/rewards/link?device=${device.toLowerCase()}&code=abcd2345` });
    await userEvent.click(await screen.findByRole('button', { name: 'Connect wallet' }));
    expect((screen.getByLabelText('Link code') as HTMLInputElement).value).toBe('abcd2345');
    await userEvent.click(screen.getByRole('button', { name: 'Link device to this wallet' }));

    const result = await screen.findByTestId('link-result');
    expect(result.dataset.outcome).toBe('linked');
    expect(result.textContent).toContain(`Device ${device} is linked to wallet ${wallet.address}`);
    const { message, signature } = signedBody(standIn, '/v1/wallets/link');
    expect(readWalletLinkResources(parseSiweMessage(message).resources ?? [])).toEqual({ device, code: 'ABCD2345' });
    expect(await verifyMessage({ address: wallet.address, message, signature })).toBe(true);
  });

  it('shows the server’s reason when the link is refused, and checks the fields before asking the wallet', async () => {
    standIn = await startContributorApi(31_105, ({ path }) =>
      path === '/v1/wallets/link'
        ? { status: 400, body: { code: 'link_code_expired', message: 'This link code has expired: show a new one.' } }
        : undefined,
    );
    installWallet(31_105);
    renderConsole({ baseUrl: standIn.url, path: '/rewards/link' });
    await userEvent.click(await screen.findByRole('button', { name: 'Connect wallet' }));
    await userEvent.click(await screen.findByRole('button', { name: 'Link device to this wallet' }));
    expect(await screen.findByText(/Enter the device address the extension shows/)).toBeTruthy();
    expect(screen.getByText(/Enter the 8-character code/)).toBeTruthy();
    expect(standIn.received.some((r) => r.path === '/v1/wallets/nonce')).toBe(false);

    await userEvent.type(screen.getByLabelText('Device address'), device);
    await userEvent.type(screen.getByLabelText('Link code'), 'ABCD2345');
    await userEvent.click(screen.getByRole('button', { name: 'Link device to this wallet' }));
    expect((await screen.findByTestId('link-result')).textContent).toBe(
      'The device was not linked: This link code has expired: show a new one.',
    );
  });
});
