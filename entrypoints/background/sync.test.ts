import { describe, expect, it } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import type { FetchFn } from '@/lib/api-client';
import { createFakeGleanerServer } from '@/lib/testing/fake-gleaner-server';
import { freshFakeBrowserForEachTest } from '@/lib/testing/fresh-fake-browser';
import { createSyncRunner } from './sync';
import { handleSyncAlarm, syncAlarmName } from './sync-alarm';
import { createTestBackground } from './test-context';

freshFakeBrowserForEachTest();

const requestsOf = (server: { received: { method: string; path: string }[] }) =>
  server.received.map((request) => `${request.method} ${request.path}`);

describe('sync on the alarm', () => {
  it('sends only a heartbeat, authenticated by the device session, once the device is registered', async () => {
    const { ctx, handlers, server, requestSync, clock } = createTestBackground();
    await handlers.setConsent({ given: true });
    server.received.length = 0;
    clock.now += 60_000;

    await handleSyncAlarm(ctx, requestSync);

    expect(requestsOf(server)).toEqual(['GET /v1/devices/me']);
    // The session was opened while connecting: the heartbeat carries its MAC, not a signature.
    expect(server.received[0]?.headers['x-gleaner-mac']).toMatch(/^[0-9a-f]{64}$/);
    expect(server.received[0]?.headers['x-gleaner-signature']).toBeUndefined();
    expect((await handlers.getStatus({})).connection.lastContactAt).toBe(clock.now);
  });

  it('registers again when the server no longer knows the device', async () => {
    const { ctx, handlers, server, requestSync } = createTestBackground();
    await handlers.setConsent({ given: true });
    server.devices.clear();
    server.received.length = 0;

    await handleSyncAlarm(ctx, requestSync);

    expect(requestsOf(server)).toEqual(['GET /v1/devices/me', 'POST /v1/devices', 'GET /v1/devices/me']);
    expect((await handlers.getStatus({})).connection.state).toBe('connected');
  });

  it('keeps retrying while offline and connects once the server answers', async () => {
    const { ctx, handlers, server, requestSync } = createTestBackground();
    server.setReachable(false);
    await handlers.setConsent({ given: true });
    await handleSyncAlarm(ctx, requestSync);
    expect((await handlers.getStatus({})).connection.state).toBe('offline');

    server.setReachable(true);
    await handleSyncAlarm(ctx, requestSync);

    const { connection } = await handlers.getStatus({});
    expect(connection.state).toBe('connected');
    expect(connection.lastError).toBeNull();
  });

  it('goes offline with the server’s words when the server refuses the device', async () => {
    const server = createFakeGleanerServer();
    const fetch: FetchFn = async (input, init) =>
      init.method === 'POST'
        ? Response.json({ code: 'timestamp_stale', message: 'Check the device clock.' }, { status: 401 })
        : server.fetch(input, init);
    const { handlers } = createTestBackground({ server, fetch });
    const status = await handlers.setConsent({ given: true });
    expect(status.connection).toMatchObject({ state: 'offline', lastError: 'Check the device clock.' });
  });

  it('removes a leftover alarm when consent is not given, without contacting the server', async () => {
    const { ctx, server, requestSync } = createTestBackground();
    await fakeBrowser.alarms.create(syncAlarmName, { periodInMinutes: 1 });
    await handleSyncAlarm(ctx, requestSync);
    expect(await fakeBrowser.alarms.getAll()).toEqual([]);
    expect(server.received).toEqual([]);
  });

  it('runs one sync at a time and folds requests made during a run into one more run', async () => {
    const server = createFakeGleanerServer();
    let inFlight = 0;
    let maxInFlight = 0;
    let announceStart = () => {};
    const fetch: FetchFn = async (input, init) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      announceStart();
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return server.fetch(input, init);
    };
    const { handlers, requestSync } = createTestBackground({ server, fetch });
    await handlers.setConsent({ given: true });
    server.received.length = 0;
    maxInFlight = 0;
    const started = new Promise<void>((resolve) => {
      announceStart = resolve;
    });

    const running = requestSync();
    await started;
    await Promise.all([requestSync(), requestSync(), running]);

    expect(maxInFlight).toBe(1);
    expect(requestsOf(server)).toEqual(['GET /v1/devices/me', 'GET /v1/devices/me']);
  });
});

describe('the connection tells the truth', () => {
  const positive = { type: 'single_choice', choice: 'positive' } as const;

  it('goes offline as soon as any request to the server gets no answer, not at the next heartbeat', async () => {
    const background = createTestBackground();
    const { handlers, server, labeling } = background;
    await handlers.setConsent({ given: true });
    server.addItems([{ id: 'review-1' }, { id: 'review-2' }]);
    const next = await handlers.getNextTask({});
    server.setReachable(false);

    await handlers.submitLabel({ assignmentId: next.task?.assignmentId ?? '', answer: positive });
    await labeling.idle();

    const { connection } = await handlers.getStatus({});
    expect(connection.state).toBe('offline');
    expect(connection.lastError).toMatch(/^Could not reach the Gleaner server at /);
    expect(await background.ctx.db.outbox.count()).toBe(1);
  });

  it('does not count a failed page fetch, which goes through the same fetch, as the server being down', async () => {
    const server = createFakeGleanerServer();
    const fetch: FetchFn = (input, init) =>
      input.startsWith(server.origin) ? server.fetch(input, init) : Promise.reject(new TypeError('Failed to fetch'));
    const { ctx, handlers } = createTestBackground({ server, fetch });
    await handlers.setConsent({ given: true });
    await expect(ctx.fetch('https://site.example/page', {})).rejects.toThrow('Failed to fetch');
    expect((await handlers.getStatus({})).connection.state).toBe('connected');
  });

  it('leaves a withdrawal alone when a request fails after it', async () => {
    const { ctx, handlers, server } = createTestBackground();
    await handlers.setConsent({ given: true });
    await handlers.setConsent({ given: false });
    server.setReachable(false);
    await expect(ctx.fetch(`${server.origin}/v1/devices/me`, {})).rejects.toThrow();
    expect((await handlers.getStatus({})).connection.state).toBe('no-consent');
  });

  it('checks with a heartbeat only while connected: no burst, no upload', async () => {
    const server = createFakeGleanerServer();
    let bursts = 0;
    const background = createTestBackground({ server });
    const requestSync = createSyncRunner(background.ctx, { onConnected: () => (bursts += 1) });
    await background.handlers.setConsent({ given: true });
    server.received.length = 0;

    await requestSync({ check: true });

    expect(requestsOf(server)).toEqual(['GET /v1/devices/me']);
    expect(bursts).toBe(0);
    await requestSync();
    expect(bursts).toBe(1);
  });

  it('uploads the labels that waited as soon as a check finds the server back, without waiting for the alarm', async () => {
    const background = createTestBackground();
    const { handlers, server, labeling } = background;
    await handlers.setConsent({ given: true });
    server.addItems([{ id: 'review-1' }, { id: 'review-2' }]);
    const next = await handlers.getNextTask({});
    server.setReachable(false);
    await handlers.submitLabel({ assignmentId: next.task?.assignmentId ?? '', answer: positive });
    await labeling.idle();
    expect((await handlers.getStatus({})).connection.state).toBe('offline');

    server.setReachable(true);
    server.received.length = 0;
    background.clock.now += 1_000;
    const status = await handlers.checkConnection({});
    await labeling.idle();

    expect(status.connection.state).toBe('connected');
    expect(requestsOf(server)).toContain('POST /v1/results');
    expect(await background.ctx.db.outbox.count()).toBe(0);
  });
});
