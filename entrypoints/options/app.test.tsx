import { cleanup, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { DbProvider } from '@/components/db-context';
import { loadDeviceAccount } from '@/lib/device-key';
import { readSettings } from '@/lib/settings';
import { createFakeGleanerServer } from '@/lib/testing/fake-gleaner-server';
import { freshFakeBrowserForEachTest } from '@/lib/testing/fresh-fake-browser';
import { setupMessages } from '../background/messages';
import { createTestBackground } from '../background/test-context';
import { App } from './app';

freshFakeBrowserForEachTest();
afterEach(cleanup);

/** The options page wired to a real background (handlers, sync, fake server) over the fake message channel. */
function renderOptions() {
  const server = createFakeGleanerServer({ origin: 'https://gleaner.example.org' });
  const background = createTestBackground({ server });
  setupMessages(background.handlers);
  render(
    <DbProvider db={background.ctx.db}>
      <App />
    </DbProvider>,
  );
  return { ...background, user: userEvent.setup() };
}

describe('options page before consent', () => {
  it('says what is fetched, uploaded and never touched, with the default budget, and runs nothing', async () => {
    const { server } = renderOptions();
    expect(await screen.findByRole('heading', { name: 'Before Gleaner starts' })).toBeDefined();
    expect(screen.getByText(/Public web pages that the Gleaner server assigns/).textContent).toContain('200 MB');
    expect(screen.getByText(/its text, title, links, address \(URL\)/)).toBeDefined();
    expect(screen.getByText(/cookies, logins, open tabs, browsing history/)).toBeDefined();
    expect(screen.getByText(/Nothing runs before you agree/)).toBeDefined();
    expect((screen.getByTestId('server-url') as HTMLInputElement).value).toBe('http://127.0.0.1:8787');
    expect(screen.getByTestId('consent-accept').textContent).toBe('I agree, start contributing');
    expect(await loadDeviceAccount()).toBeNull();
    expect(server.received).toEqual([]);
  });

  it('accepting with a server address connects to that server and shows the settings', async () => {
    const { user, ctx, server } = renderOptions();
    const serverUrl = await screen.findByTestId('server-url');
    await user.clear(serverUrl);
    await user.type(serverUrl, 'https://gleaner.example.org/');
    await user.click(screen.getByTestId('consent-accept'));

    expect(await screen.findByTestId('save-settings')).toBeDefined();
    await waitFor(() => expect(screen.getByTestId('status').textContent).toBe('Connected'));
    const account = await loadDeviceAccount();
    expect(screen.getByTestId('device-address').textContent).toBe(account?.address);
    expect((await readSettings(ctx.db)).serverUrl).toBe('https://gleaner.example.org');
    expect(server.devices.size).toBe(1);
  });

  it('refuses a server address that is not http(s), saying why, and gives no consent', async () => {
    const { user, ctx } = renderOptions();
    const serverUrl = await screen.findByTestId('server-url');
    await user.clear(serverUrl);
    await user.type(serverUrl, 'ftp://gleaner.example.org');
    await user.click(screen.getByTestId('consent-accept'));

    expect((await screen.findByRole('alert')).textContent).toMatch(/starting with http:\/\/ or https:\/\//);
    expect((await readSettings(ctx.db)).consent.given).toBe(false);
    expect(await loadDeviceAccount()).toBeNull();
  });
});

describe('options page after consent', () => {
  async function renderConsented() {
    const view = renderOptions();
    await view.handlers.setConsent({ given: true, serverUrl: 'https://gleaner.example.org' });
    await screen.findByTestId('save-settings');
    return view;
  }

  it('saves a new daily budget in megabytes', async () => {
    const { user, ctx } = await renderConsented();
    const budget = screen.getByTestId('daily-budget');
    await user.clear(budget);
    await user.type(budget, '50');
    await user.click(screen.getByTestId('save-settings'));
    expect(await screen.findByTestId('settings-saved')).toBeDefined();
    expect((await readSettings(ctx.db)).dailyBudgetBytes).toBe(50_000_000);
  });

  it('shows a clear error for an invalid server address and keeps the old one', async () => {
    const { user, ctx } = await renderConsented();
    const serverUrl = screen.getByTestId('server-url');
    await user.clear(serverUrl);
    await user.type(serverUrl, 'gleaner dot org');
    await user.click(screen.getByTestId('save-settings'));
    expect((await screen.findByTestId('settings-error')).textContent).toMatch(/^Server address: Enter a web address/);
    expect((await readSettings(ctx.db)).serverUrl).toBe('https://gleaner.example.org');
  });

  it('pauses fetching for an hour, shows until when while staying connected, and resumes', async () => {
    const { user } = await renderConsented();
    await user.click(screen.getByTestId('pause-1h'));
    expect((await screen.findByTestId('paused-until')).textContent).toMatch(/^Fetching paused until /);
    expect(screen.getByTestId('status').textContent).toBe('Connected');
    await waitFor(() => expect(screen.getByTestId<HTMLButtonElement>('resume').disabled).toBe(false));
    await user.click(screen.getByTestId('resume'));
    // The pause line goes when the settings row is written again, not with any change of status.
    await waitFor(() => expect(screen.queryByTestId('paused-until')).toBeNull());
    expect(screen.getByTestId('status').textContent).toBe('Connected');
  });

  it('withdrawing consent asks first, then returns to the consent screen', async () => {
    const { user } = await renderConsented();
    await user.click(screen.getByTestId('consent-withdraw'));
    await user.click(screen.getByTestId('consent-withdraw-cancel'));
    expect(screen.queryByTestId('consent-accept')).toBeNull();
    await user.click(screen.getByTestId('consent-withdraw'));
    await user.click(screen.getByTestId('consent-withdraw-confirm'));
    expect(await screen.findByTestId('consent-accept')).toBeDefined();
    expect(await fakeBrowser.alarms.getAll()).toEqual([]);
  });

  it('shows an empty fetch log, then the fetches as they are logged', async () => {
    const { ctx } = await renderConsented();
    expect(screen.getByText('Nothing has been fetched from your connection yet.')).toBeDefined();
    await ctx.db.fetchLog.add({
      kind: 'page',
      at: Date.now(),
      url: 'https://example.com/a',
      status: 200,
      bytes: 4200,
      outcome: 'ok',
      reason: null,
      assignmentId: '1',
      rejection: null,
    });
    const row = await screen.findByTestId('fetch-log-row');
    expect(row.textContent).toContain('https://example.com/a');
    expect(row.textContent).toContain('4.2 kB');
    expect(row.textContent).toContain('Kept');
    expect(screen.queryByTestId('fetch-log-image')).toBeNull();
  });

  it('lists the images fetched for labeling in the fetch log, saying so', async () => {
    const { ctx } = await renderConsented();
    await ctx.db.fetchLog.add({
      kind: 'image',
      at: Date.now(),
      url: 'http://192.168.1.1/cat.png',
      status: null,
      bytes: 0,
      outcome: 'blocked',
      reason: 'url_blocked: 192.168.1.1 is a private address.',
      assignmentId: null,
      rejection: null,
    });
    const row = await screen.findByTestId('fetch-log-row');
    expect(row.textContent).toContain('The image of a labeling task, shown in the popup');
    expect(row.textContent).toContain('Blocked by a safety rule');
  });

  it('lists the uploads the server refused, why, and what they held, and deletes them on request', async () => {
    const { user, ctx } = await renderConsented();
    expect(screen.getByTestId('dead-letters-empty')).toBeDefined();
    const record = (kind: 'scrape' | 'label') => ({ kind, createdAt: 1, payload: { assignmentId: '1' } });
    await ctx.db.deadLetters.bulkAdd([
      {
        at: Date.parse('2025-06-01T10:00:00Z'),
        batchId: 'b1',
        code: 'payload_too_large',
        message: 'The request body is larger than 32 MB once inflated.',
        records: [record('scrape')],
      },
      {
        at: Date.parse('2025-06-01T11:00:00Z'),
        batchId: 'b2',
        code: 'bad_request',
        message: 'The body is not valid gzip.',
        records: [record('scrape'), record('scrape'), record('label')],
      },
    ]);
    await waitFor(() => expect(screen.getAllByTestId('dead-letter')).toHaveLength(2));
    const [newest, oldest] = screen.getAllByTestId('dead-letter');
    expect(newest?.textContent).toContain('The server could not read the upload.');
    expect(newest?.textContent).toContain('The server said: The body is not valid gzip.');
    expect(newest?.textContent).toContain('2 page results and 1 label');
    expect(oldest?.textContent).toContain('Too large for the server to accept, even on its own.');
    expect(oldest?.textContent).toContain('1 page result ·');

    await user.click(screen.getAllByTestId('delete-dead-letter')[0] as HTMLElement);
    await waitFor(() => expect(screen.getAllByTestId('dead-letter')).toHaveLength(1));
    expect((await ctx.db.deadLetters.toArray()).map((row) => row.batchId)).toEqual(['b1']);
    await user.click(screen.getByTestId('delete-dead-letter'));
    expect(await screen.findByTestId('dead-letters-empty')).toBeDefined();
    expect(await ctx.db.deadLetters.count()).toBe(0);
  });
});
