import { cleanup, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { setupMessages } from '@/entrypoints/background/messages';
import { createTestBackground } from '@/entrypoints/background/test-context';
import { loadDeviceAccount } from '@/lib/device-key';
import { sendMessage } from '@/lib/messages';
import { createFakeGleanerServer } from '@/lib/testing/fake-gleaner-server';
import { withFakeWalletRoutes } from '@/lib/testing/fake-wallet-routes';
import { freshFakeBrowserForEachTest } from '@/lib/testing/fresh-fake-browser';
import { WalletLinkSection } from './wallet-link-section';

freshFakeBrowserForEachTest();
afterEach(cleanup);

const origin = 'https://gleaner.example.org';
const wallet = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

/**
 * A consenting, registered background behind the fake server with the wallet routes; the codes'
 * clock is the page's (the countdown reads Date.now), shifted by `codeClockOffsetMs`.
 */
async function startBackground({ consent = true, codeClockOffsetMs = 0 } = {}) {
  const server = createFakeGleanerServer({ origin });
  const walletRoutes = withFakeWalletRoutes(server, () => Date.now() + codeClockOffsetMs);
  const background = createTestBackground({ server, fetch: walletRoutes.fetch });
  setupMessages(background.handlers);
  if (consent) await background.handlers.setConsent({ given: true, serverUrl: origin });
  return { ...background, walletRoutes };
}

function renderSection() {
  render(<WalletLinkSection />);
  return userEvent.setup();
}

describe('wallet section of the options page', () => {
  it('says the device earns unlinked until a wallet is linked', async () => {
    await startBackground();
    renderSection();
    expect((await screen.findByTestId('wallet-not-linked')).textContent).toBe(
      'Not linked: this device earns points, and they move to your wallet when you link it.',
    );
  });

  it('shows a fresh code with this device, its countdown and the prefilled console link', async () => {
    const { server } = await startBackground();
    const user = renderSection();
    await user.click(await screen.findByRole('button', { name: 'Get a link code' }));

    const code = (await screen.findByTestId('link-code')).textContent ?? '';
    expect(code).toMatch(/^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{8}$/);
    const account = await loadDeviceAccount();
    expect(screen.getByTestId('link-device').textContent).toBe(account?.address);
    expect(screen.getByTestId('link-code-expires').textContent).toMatch(/^Expires in (10:00|9:5\d) /);
    const link = screen.getByRole('link', { name: 'Open the console to link' });
    expect(link.getAttribute('href')).toBe(`${origin}/#/rewards/link?device=${account?.address}&code=${code}`);
    expect(link.getAttribute('target')).toBe('_blank');
    expect(server.received.filter((r) => r.path === '/v1/devices/me/link-code').map((r) => r.method)).toEqual(['POST']);
  });

  it('copies the code to the clipboard', async () => {
    await startBackground();
    const user = renderSection();
    await user.click(await screen.findByRole('button', { name: 'Get a link code' }));
    const code = (await screen.findByTestId('link-code')).textContent;
    await user.click(screen.getByRole('button', { name: 'Copy the link code' }));
    expect(await screen.findByText('Copied')).toBeDefined();
    expect(await navigator.clipboard.readText()).toBe(code);
  });

  it('says a code has expired instead of offering a dead link', async () => {
    await startBackground({ codeClockOffsetMs: -11 * 60_000 });
    const user = renderSection();
    await user.click(await screen.findByRole('button', { name: 'Get a link code' }));
    expect((await screen.findByTestId('link-code-expired')).textContent).toBe('This code has expired. Get a new one.');
    expect(screen.queryByRole('link', { name: 'Open the console to link' })).toBeNull();
  });

  it('after linking on the console, Refresh shows the wallet and since when, and drops the spent code', async () => {
    const { walletRoutes } = await startBackground();
    const user = renderSection();
    await user.click(await screen.findByRole('button', { name: 'Get a link code' }));
    const code = (await screen.findByTestId('link-code')).textContent ?? '';
    walletRoutes.linkWithCode(code, wallet);

    await user.click(screen.getByRole('button', { name: 'Refresh' }));
    expect((await screen.findByTestId('linked-wallet')).textContent).toBe(wallet);
    expect(screen.getByTestId('wallet-status').textContent).toMatch(/^Points go to wallet 0x.+ since .+\.$/);
    expect(screen.queryByTestId('link-code')).toBeNull();
    expect(screen.queryByTestId('wallet-not-linked')).toBeNull();
  });

  it('says in words that the server limits this device, with the wait it asked for', async () => {
    const { server } = await startBackground();
    const user = renderSection();
    await screen.findByTestId('wallet-not-linked');
    server.misbehave('/v1/devices/me/link-code', {
      status: 429,
      body: { code: 'rate_limited', message: 'Device sent more than 120 signed requests in a minute; retry in 30 s.' },
      headers: { 'retry-after': '30' },
    });
    await user.click(screen.getByRole('button', { name: 'Get a link code' }));
    expect((await screen.findByTestId('wallet-link-error')).textContent).toBe(
      "The server is refusing this device's requests for a moment: too many in the last minute. Try again in 30 seconds.",
    );
    expect(screen.queryByTestId('link-code')).toBeNull();
  });

  it('says the server cannot be reached, and shows the code once it can', async () => {
    const { server } = await startBackground();
    const user = renderSection();
    await screen.findByTestId('wallet-not-linked');
    server.setReachable(false);
    await user.click(screen.getByRole('button', { name: 'Get a link code' }));
    expect((await screen.findByTestId('wallet-link-error')).textContent).toMatch(
      /^Could not reach the Gleaner server at https:\/\/gleaner\.example\.org\./,
    );
    server.setReachable(true);
    await user.click(screen.getByRole('button', { name: 'Get a link code' }));
    expect(await screen.findByTestId('link-code')).toBeDefined();
    await waitFor(() => expect(screen.queryByTestId('wallet-link-error')).toBeNull());
  });
});

describe('wallet messages to the background', () => {
  it('asks nothing of the server before consent, and says why', async () => {
    const { server } = await startBackground({ consent: false });
    await expect(sendMessage('createLinkCode', {})).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/agree in the options first/),
    });
    await expect(sendMessage('getDeviceWallet', {})).rejects.toMatchObject({ code: 'conflict' });
    expect(server.received).toEqual([]);
  });

  it('refuses data that is not an object, as bad_request, without contacting the server', async () => {
    const { server } = await startBackground();
    const sentBefore = server.received.length;
    const reply = await fakeBrowser.runtime.sendMessage({ type: 'createLinkCode', data: 'ABCD2345' });
    expect(reply).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(server.received.length).toBe(sentBefore);
  });
});
