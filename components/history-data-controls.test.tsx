import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { setupMessages } from '@/entrypoints/background/messages';
import { createTestBackground } from '@/entrypoints/background/test-context';
import { App } from '@/entrypoints/options/app';
import type { FetchFn } from '@/lib/api-client';
import type { FetchLogRow } from '@/lib/db';
import { deviceKeyStorageKey, loadDeviceAccount } from '@/lib/device-key';
import { localDayKey } from '@/lib/history';
import { readSettings, writeSettings } from '@/lib/settings';
import { createFakeGleanerServer } from '@/lib/testing/fake-gleaner-server';
import { freshFakeBrowserForEachTest } from '@/lib/testing/fresh-fake-browser';
import { DbProvider } from './db-context';

freshFakeBrowserForEachTest();
afterEach(cleanup);

const logRow = (at: number, patch: Partial<FetchLogRow> = {}) =>
  ({
    kind: 'page',
    at,
    url: 'https://example.com/a',
    status: 200,
    bytes: 4200,
    outcome: 'ok',
    reason: null,
    assignmentId: null,
    rejection: null,
    ...patch,
  }) as FetchLogRow;

/**
 * The options page on a real background over the fake message channel. The fake server has no history
 * route, so `/v1/devices/me/points-by-day` answers the given days (checked against the real server in
 * server/src/routes/device-history.test.ts), or the fake's own 404 when none are given.
 */
async function renderConsented(history?: (timeZone: string) => unknown) {
  const server = createFakeGleanerServer({ origin: 'https://gleaner.example.org' });
  const asked: string[] = [];
  const fetch: FetchFn = async (input, init) => {
    const url = new URL(String(input));
    if (url.pathname === '/v1/devices/me/points-by-day') {
      asked.push(url.search);
      if (history) return Response.json(history(url.searchParams.get('timeZone') ?? ''));
    }
    return server.fetch(input, init);
  };
  const background = createTestBackground({ server, fetch });
  setupMessages(background.handlers);
  await background.handlers.setConsent({ given: true, serverUrl: 'https://gleaner.example.org' });
  render(
    <DbProvider db={background.ctx.db}>
      <App />
    </DbProvider>,
  );
  await screen.findByTestId('save-settings');
  return { ...background, asked, user: userEvent.setup() };
}

describe('the 30-day history', () => {
  it('charts pages and bytes from the fetch log and labels and points from the server, per local day', async () => {
    const today = localDayKey(Date.now());
    const { ctx, asked } = await renderConsented((timeZone) => ({
      timeZone,
      days: [{ day: today, verified: 100, pending: 200, rejected: 0, labels: 7 }],
    }));
    await ctx.db.fetchLog.bulkAdd([logRow(Date.now()), logRow(Date.now(), { outcome: 'blocked', bytes: 0 })]);

    await waitFor(() => expect(screen.getByTestId('history-pages-total').textContent).toBe('1 in 30 days'));
    expect(screen.getByTestId('history-bytes-total').textContent).toBe('4.2 kB in 30 days');
    expect((await screen.findByTestId('history-labels-total')).textContent).toBe('7 in 30 days');
    expect(screen.getByTestId('history-points-total').textContent).toBe('300 in 30 days');
    expect(
      within(screen.getByTestId('history-points')).getByRole('img', {
        name: `Points earned: 300 in the last 30 days, most on ${today} (300).`,
      }),
    ).toBeDefined();
    const rows = screen.getAllByTestId('history-day');
    expect(rows).toHaveLength(30);
    expect(rows.at(-1)?.textContent).toBe(`${today}14.2 kB71002000`);
    expect(asked).toEqual([
      `?days=30&timeZone=${encodeURIComponent(Intl.DateTimeFormat().resolvedOptions().timeZone)}`,
    ]);
  });

  it('still shows pages and bytes when the server cannot give points, and says why', async () => {
    await renderConsented();
    // The note shows "Reading…" first: wait for the answer (a session handshake comes before the request now).
    await waitFor(() =>
      expect(screen.getByTestId('history-server').textContent).toMatch(
        /Labels and points per day come from the server, which could not be asked: .*points-by-day/,
      ),
    );
    expect(screen.getByTestId('history-pages')).toBeDefined();
    expect(screen.getAllByTestId('history-day').at(-1)?.textContent).toContain('—');
  });
});

describe('the fetch log', () => {
  it('shows a long address on one line, shortened in the middle, with the whole address on hover', async () => {
    const { ctx } = await renderConsented();
    const url = `https://news.example.org/2025/04/${'long-path-segment/'.repeat(6)}article?id=42`;
    await ctx.db.fetchLog.add(logRow(Date.now(), { url }));
    const shown = await screen.findByTestId('fetch-log-url');
    expect(shown.getAttribute('title')).toBe(url);
    expect(shown.textContent).toMatch(/^https:\/\/news\.example\.org….*article\?id=42$/);
    expect(shown.className).toContain('whitespace-nowrap');
    expect(screen.getByRole('button', { name: `Copy the address ${url}` })).toBeDefined();
  });
});

describe('deleting local data', () => {
  async function seed(ctx: Awaited<ReturnType<typeof renderConsented>>['ctx']) {
    await ctx.db.fetchLog.bulkAdd([logRow(Date.now()), logRow(Date.now() - 1000)]);
    await ctx.db.outbox.add({ seq: 1, kind: 'label', createdAt: 1, payload: {}, batchId: '' });
    await ctx.db.deadLetters.add({
      id: 1,
      at: 1,
      batchId: 'b',
      code: 'bad_request',
      message: 'no',
      records: [{ kind: 'scrape', createdAt: 1, payload: {} }],
    });
    await writeSettings(ctx.db, {
      dailyBudgetBytes: 50_000_000,
      labelRejections: [{ assignmentId: 'a', reason: 'late', at: 1 }],
    });
  }

  it('says what goes and what stays, and deletes nothing until confirmed', async () => {
    const { ctx, user } = await renderConsented();
    await seed(ctx);
    await user.click(screen.getByTestId('delete-local-data'));
    const confirm = screen.getByTestId('delete-confirm');
    // Each count comes from its own write, each re-running the live query: wait for both.
    await waitFor(() => {
      expect(confirm.textContent).toContain('the fetch log (2 entries)');
      expect(confirm.textContent).toContain('work not uploaded yet (1 result or label)');
    });
    expect(confirm.textContent).toMatch(/keeps your settings .* your consent and pause, and this device’s key/);
    await user.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(await ctx.db.fetchLog.count()).toBe(2);
    expect(await ctx.db.outbox.count()).toBe(1);
  });

  it('deletes the history and queued work but keeps the settings, the consent and the device', async () => {
    const { ctx, user, server } = await renderConsented();
    await seed(ctx);
    const device = await loadDeviceAccount();
    await user.click(screen.getByTestId('delete-local-data'));
    await user.click(screen.getByTestId('delete-local-data-confirm'));
    expect((await screen.findByTestId('delete-local-data-done')).textContent).toBe(
      'Deleted 2 fetch log entries and 1 result or label waiting to upload.',
    );
    expect(await ctx.db.fetchLog.count()).toBe(0);
    expect(await ctx.db.outbox.count()).toBe(0);
    expect(await ctx.db.deadLetters.count()).toBe(0);
    const settings = await readSettings(ctx.db);
    expect(settings).toMatchObject({
      serverUrl: 'https://gleaner.example.org',
      dailyBudgetBytes: 50_000_000,
      consent: { given: true },
      labelRejections: [],
      connection: { state: 'connected', deviceAddress: device?.address },
    });
    expect((await loadDeviceAccount())?.address).toBe(device?.address);
    expect(server.devices.size).toBe(1);
    expect(screen.getByTestId('status').textContent).toBe('Connected');
  });

  it('with a device reset, deletes the key too and registers this browser as a new device', async () => {
    const { ctx, user, server } = await renderConsented();
    await seed(ctx);
    const before = await loadDeviceAccount();
    await user.click(screen.getByTestId('delete-local-data'));
    await user.click(screen.getByTestId('delete-reset-device'));
    await user.click(screen.getByRole('button', { name: 'Delete and reset the device' }));
    // A new key and a registration take a moment on a loaded machine: wait longer than findBy's default second.
    expect((await screen.findByTestId('delete-local-data-done', {}, { timeout: 10_000 })).textContent).toContain(
      'this browser will register as a new device',
    );
    const after = await loadDeviceAccount();
    expect(after).not.toBeNull();
    expect(after?.address).not.toBe(before?.address);
    expect(server.devices.size).toBe(2);
    expect((await readSettings(ctx.db)).connection).toMatchObject({
      state: 'connected',
      deviceAddress: after?.address,
    });
    expect(await ctx.db.fetchLog.count()).toBe(0);
    expect(Object.keys(await fakeBrowser.storage.local.get(deviceKeyStorageKey))).toEqual([deviceKeyStorageKey]);
  });
});
