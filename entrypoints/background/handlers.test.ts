import { BaseError } from '@protocol/errors';
import { describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import type { FetchFn } from '@/lib/api-client';
import { loadDeviceAccount } from '@/lib/device-key';
import { totalsForToday } from '@/lib/fetch-log';
import { sendMessage } from '@/lib/messages';
import { readSettings } from '@/lib/settings';
import { createFakeGleanerServer } from '@/lib/testing/fake-gleaner-server';
import { freshFakeBrowserForEachTest } from '@/lib/testing/fresh-fake-browser';
import { setupMessages } from './messages';
import { syncAlarmName } from './sync-alarm';
import { createTestBackground } from './test-context';

const hour = 60 * 60 * 1000;

freshFakeBrowserForEachTest();

describe('before consent', () => {
  it('makes no key, sends no request and sets no alarm, whatever is asked', async () => {
    const { handlers, server } = createTestBackground();
    await handlers.getStatus({});
    await handlers.syncNow({});
    await handlers.saveSettings({ serverUrl: 'https://gleaner.example.org', dailyBudgetBytes: 10_000_000 });
    await handlers.pause({ until: null });
    expect(await loadDeviceAccount()).toBeNull();
    expect(server.received).toEqual([]);
    expect(await fakeBrowser.alarms.getAll()).toEqual([]);
    expect((await handlers.getStatus({})).connection.state).toBe('no-consent');
  });
});

describe('giving consent', () => {
  it('makes a key, registers while showing registering, then connects with the device address', async () => {
    const server = createFakeGleanerServer();
    const statesDuringRequests: string[] = [];
    const fetch: FetchFn = async (input, init) => {
      statesDuringRequests.push((await readSettings(background.ctx.db)).connection.state);
      return server.fetch(input, init);
    };
    const background = createTestBackground({ server, fetch });

    const status = await background.handlers.setConsent({ given: true });

    const account = await loadDeviceAccount();
    expect(account).not.toBeNull();
    expect(server.received.map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /v1/devices',
      // Signed once with the device key; the requests after it go by that session.
      'POST /v1/devices/sessions',
      'GET /v1/devices/me',
    ]);
    expect(statesDuringRequests).toEqual(['registering', 'registering', 'registering']);
    expect(status.connection).toMatchObject({
      state: 'connected',
      deviceAddress: account?.address,
      lastError: null,
      lastContactAt: background.clock.now,
      registeredServerUrl: server.origin,
    });
    expect(status.consent).toMatchObject({ given: true, at: background.clock.now });
    expect(server.devices.get(account?.address ?? '0x')).toMatchObject({
      extensionVersion: '0.1.0',
      browser: 'chrome',
    });
  });

  it('uses the server address given with the consent', async () => {
    const server = createFakeGleanerServer({ origin: 'https://gleaner.example.org' });
    const { handlers } = createTestBackground({ server });
    const status = await handlers.setConsent({ given: true, serverUrl: 'https://gleaner.example.org/' });
    expect(status.serverUrl).toBe('https://gleaner.example.org');
    expect(status.connection.state).toBe('connected');
  });

  it('creates the one-minute sync alarm', async () => {
    const { handlers } = createTestBackground();
    await handlers.setConsent({ given: true });
    expect(await fakeBrowser.alarms.get(syncAlarmName)).toMatchObject({ periodInMinutes: 1 });
  });

  it('goes offline with the reason in words when the server cannot be reached', async () => {
    const { handlers, server } = createTestBackground();
    server.setReachable(false);
    const status = await handlers.setConsent({ given: true });
    expect(status.connection.state).toBe('offline');
    expect(status.connection.lastError).toMatch(/Could not reach the Gleaner server at http:\/\/127\.0\.0\.1:8787/);
    expect(await fakeBrowser.alarms.get(syncAlarmName)).toBeDefined();
  });
});

describe('withdrawing consent', () => {
  it('clears the alarm, shows no consent and stops contacting the server', async () => {
    const { handlers, server } = createTestBackground();
    await handlers.setConsent({ given: true });
    server.received.length = 0;

    const status = await handlers.setConsent({ given: false });

    expect(status.connection.state).toBe('no-consent');
    expect(status.consent.given).toBe(false);
    expect(await fakeBrowser.alarms.getAll()).toEqual([]);
    await handlers.syncNow({});
    expect(server.received).toEqual([]);
  });

  it('keeps the same device key when consent is given again', async () => {
    const { handlers } = createTestBackground();
    const first = await handlers.setConsent({ given: true });
    await handlers.setConsent({ given: false });
    const again = await handlers.setConsent({ given: true });
    expect(again.connection.deviceAddress).toBe(first.connection.deviceAddress);
    expect(again.connection.state).toBe('connected');
  });

  it('is not overwritten by a request that was under way', async () => {
    const server = createFakeGleanerServer();
    let withdrawDuringNextRequest = false;
    const fetch: FetchFn = async (input, init) => {
      if (withdrawDuringNextRequest) {
        withdrawDuringNextRequest = false;
        await background.handlers.setConsent({ given: false });
      }
      return server.fetch(input, init);
    };
    const background = createTestBackground({ server, fetch });
    await background.handlers.setConsent({ given: true });
    withdrawDuringNextRequest = true;
    await background.handlers.syncNow({});
    expect((await background.handlers.getStatus({})).connection.state).toBe('no-consent');
  });
});

describe('pause', () => {
  it('keeps the link to the server while paused (labeling goes on), and clears the pause once it has ended', async () => {
    const { handlers, server, clock, requestSync } = createTestBackground();
    await handlers.setConsent({ given: true });
    server.received.length = 0;

    const paused = await handlers.pause({ until: clock.now + hour });
    expect(paused.connection.state).toBe('connected');
    expect(paused.pausedUntil).toBe(clock.now + hour);

    clock.now += hour;
    await requestSync();
    const status = await handlers.getStatus({});
    expect(status.connection.state).toBe('connected');
    expect(status.pausedUntil).toBeNull();
    expect(server.received.map((request) => request.path)).toEqual(['/v1/devices/me', '/v1/devices/me']);
  });

  it('resumes at once when asked', async () => {
    const { handlers, clock } = createTestBackground();
    await handlers.setConsent({ given: true });
    await handlers.pause({ until: clock.now + hour });
    const status = await handlers.pause({ until: null });
    expect(status.connection.state).toBe('connected');
    expect(status.pausedUntil).toBeNull();
  });

  it('keeps the sync alarm while paused so the pause can end by itself', async () => {
    const { handlers, clock } = createTestBackground();
    await handlers.setConsent({ given: true });
    await handlers.pause({ until: clock.now + hour });
    expect(await fakeBrowser.alarms.get(syncAlarmName)).toBeDefined();
  });

  it('refuses a pause that ends in the past', async () => {
    const { handlers, clock } = createTestBackground();
    await expect(handlers.pause({ until: clock.now - 1 })).rejects.toThrow('A pause must end in the future.');
  });

  it('given before consent, stays in force once consent is given', async () => {
    const { handlers, clock } = createTestBackground();
    await handlers.pause({ until: clock.now + hour });
    const status = await handlers.setConsent({ given: true });
    expect(status.pausedUntil).toBe(clock.now + hour);
  });

  it('ends with a withdrawal of consent, so nothing says "Paused until" under "No consent"', async () => {
    const { handlers, clock } = createTestBackground();
    await handlers.setConsent({ given: true });
    await handlers.pause({ until: clock.now + hour });
    const status = await handlers.setConsent({ given: false });
    expect(status.pausedUntil).toBeNull();
    expect(status.connection.state).toBe('no-consent');
  });
});

describe('saving settings', () => {
  it('registers with a new server address at once', async () => {
    const first = createFakeGleanerServer();
    const second = createFakeGleanerServer({ origin: 'https://gleaner.example.org' });
    const fetch: FetchFn = (input, init) =>
      new URL(input).origin === second.origin ? second.fetch(input, init) : first.fetch(input, init);
    const { handlers } = createTestBackground({ server: first, fetch });
    const before = await handlers.setConsent({ given: true });

    const status = await handlers.saveSettings({ serverUrl: 'https://gleaner.example.org' });

    expect(second.received.map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /v1/devices',
      // Signed once with the device key; the requests after it go by that session.
      'POST /v1/devices/sessions',
      'GET /v1/devices/me',
    ]);
    expect(status.connection).toMatchObject({
      state: 'connected',
      deviceAddress: before.connection.deviceAddress,
      registeredServerUrl: 'https://gleaner.example.org',
    });
  });

  it('stores the daily budget without contacting the server', async () => {
    const { handlers, server } = createTestBackground();
    await handlers.setConsent({ given: true });
    server.received.length = 0;
    const status = await handlers.saveSettings({ dailyBudgetBytes: 50_000_000 });
    expect(status.dailyBudgetBytes).toBe(50_000_000);
    expect(server.received).toEqual([]);
  });
});

describe('refreshing the points', () => {
  it('reads the points from the server and stores them for the pages', async () => {
    const { ctx, handlers, server } = createTestBackground();
    await handlers.setConsent({ given: true });
    server.setPoints({ pending: 7, verified: 3, rejected: 0, trust: 0.5, recentRejections: [] });
    await handlers.refreshPoints({});
    expect((await readSettings(ctx.db)).points).toMatchObject({ pending: 7, verified: 3 });
  });

  it('keeps the last points when the server cannot be reached, and asks nothing without consent', async () => {
    const { ctx, handlers, server } = createTestBackground();
    await handlers.refreshPoints({});
    expect(server.received).toEqual([]);
    await handlers.setConsent({ given: true });
    await handlers.refreshPoints({});
    server.setReachable(false);
    await handlers.refreshPoints({});
    expect((await readSettings(ctx.db)).points).toMatchObject({ pending: 0 });
  });
});

describe('messages from the pages', () => {
  it('answers a page through the message channel', async () => {
    const { handlers } = createTestBackground();
    setupMessages(handlers);
    const status = await sendMessage('setConsent', { given: true });
    expect(status.connection.state).toBe('connected');
    expect((await sendMessage('getStatus', {})).connection.deviceAddress).toBe(status.connection.deviceAddress);
  });

  it('rejects invalid data with the reason in words, as a BaseError', async () => {
    const { handlers } = createTestBackground();
    setupMessages(handlers);
    const error = await sendMessage('saveSettings', { serverUrl: 'ftp://example.org' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BaseError);
    expect(error).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/http:\/\/ or https:\/\//) });
  });

  it('answers an unknown message with an error body', async () => {
    const { handlers } = createTestBackground();
    setupMessages(handlers);
    const reply = await fakeBrowser.runtime.sendMessage({ type: 'formatDisk', data: {} });
    expect(reply).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  it('carries a handler’s error across with its code', async () => {
    const { handlers, clock } = createTestBackground();
    setupMessages(handlers);
    await expect(sendMessage('pause', { until: clock.now - 1000 })).rejects.toMatchObject({
      code: 'bad_request',
      message: 'A pause must end in the future.',
    });
  });
});

describe('loading a task image for the popup', () => {
  /** A connected background with one queued image task per URL, in order. */
  async function withImageTasks(...imageUrls: string[]) {
    const background = createTestBackground();
    await background.handlers.setConsent({ given: true });
    background.server.addItems(
      imageUrls.map((imageUrl, index) => ({
        id: `image-${index + 1}`,
        labelSchema: { type: 'single_choice', choices: ['cat', 'dog'] },
        content: { type: 'image', imageUrl },
      })),
    );
    await background.handlers.getNextTask({});
    const assignmentIds = (await background.ctx.db.tasks.toArray()).map((row) => row.assignmentId);
    setupMessages(background.handlers);
    return { ...background, assignmentIds };
  }

  it('refuses a private, loopback or metadata address without fetching it, and logs the refusal', async () => {
    const urls = [
      'http://192.168.1.1/cgi-bin/luci',
      'http://169.254.169.254/latest/meta-data/',
      'http://localhost:9222/json',
    ];
    const { imageHost, assignmentIds, ctx } = await withImageTasks(...urls);
    for (const assignmentId of assignmentIds) {
      const image = await sendMessage('loadTaskImage', { assignmentId });
      expect(image).toMatchObject({ status: 'refused', reason: expect.any(String) });
    }
    expect(imageHost.requested).toEqual([]);
    expect((await ctx.db.fetchLog.toArray()).map((row) => [row.kind, row.url, row.outcome, row.bytes])).toEqual(
      urls.map((url) => ['image', url, 'blocked', 0]),
    );
  });

  it('loads a public image as a data: URL once, logs the fetch, and shows it again from memory', async () => {
    const { imageHost, assignmentIds, ctx, clock } = await withImageTasks('https://images.example/cat.png');
    const [assignmentId = ''] = assignmentIds;
    const first = await sendMessage('loadTaskImage', { assignmentId });
    expect(first).toMatchObject({ status: 'loaded', dataUrl: expect.stringMatching(/^data:image\/png;base64,/) });
    expect(await sendMessage('loadTaskImage', { assignmentId })).toEqual(first);
    expect(imageHost.requested).toEqual(['https://images.example/cat.png']);
    expect(await ctx.db.fetchLog.toArray()).toMatchObject([
      { kind: 'image', url: 'https://images.example/cat.png', status: 200, outcome: 'ok', assignmentId: null },
    ]);
    // An image is not a page: today's pages stay at none.
    expect(await totalsForToday(ctx.db, clock.now)).toMatchObject({ pages: 0, bytes: expect.any(Number) });
    expect((await totalsForToday(ctx.db, clock.now)).bytes).toBeGreaterThan(0);
  });

  it('refuses SVG and what is not an image, saying why', async () => {
    const { imageHost, assignmentIds } = await withImageTasks(
      'https://images.example/cat.svg',
      'https://images.example/page',
    );
    imageHost.serve('https://images.example/cat.svg', { contentType: 'image/svg+xml', body: '<svg/>' });
    imageHost.serve('https://images.example/page', { contentType: 'image/png', body: '<html>not a png</html>' });
    const [svg, page] = await Promise.all(
      assignmentIds.map((assignmentId) => sendMessage('loadTaskImage', { assignmentId })),
    );
    expect(svg).toEqual({ status: 'refused', reason: expect.stringMatching(/^SVG images are not shown/) });
    expect(page).toEqual({
      status: 'refused',
      reason: 'The file sent as image/png is not a PNG, JPEG, GIF, WebP or AVIF image.',
    });
  });

  it('fetches nothing for a task no longer queued', async () => {
    const { imageHost } = await withImageTasks('https://images.example/cat.png');
    expect(await sendMessage('loadTaskImage', { assignmentId: '12345' })).toEqual({
      status: 'refused',
      reason: 'This task is no longer in the queue.',
    });
    expect(imageHost.requested).toEqual([]);
  });

  it('loads the image of a task the labeler opened while page fetching is paused', async () => {
    const { imageHost, assignmentIds, handlers, clock } = await withImageTasks('https://images.example/cat.png');
    await handlers.pause({ until: clock.now + hour });
    expect(await sendMessage('loadTaskImage', { assignmentId: assignmentIds[0] ?? '' })).toMatchObject({
      status: 'loaded',
    });
    expect(imageHost.requested).toHaveLength(1);
  });
});
