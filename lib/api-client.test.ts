import { AuthError, BaseError, type ErrorCode, httpStatusOf } from '@protocol/errors';
import { readSessionHeaders, sessionHeaders } from '@protocol/sessions';
import { defaultChainId, hashBody, signatureHeaders, verifyRequestSignature } from '@protocol/signing';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeEach, describe, expect, it } from 'vitest';
// biome-ignore lint/style/noRestrictedImports: the test answers as the server does, with the server's own session store, so both sides are proved to agree; nothing here is bundled.
import * as serverSessions from '../server/src/plugins/device-sessions';
import {
  type ApiClientOptions,
  createApiClient,
  type FetchFn,
  maxServerRetryAfterSeconds,
  serverRetryAfterSecondsOf,
  serverStatusOf,
} from './api-client';
import { forgetDeviceSessions } from './device-session';
import { gunzip } from './gzip';
import { createFakeGleanerServer } from './testing/fake-gleaner-server';

const account = privateKeyToAccount(generatePrivateKey());
const registration = { extensionVersion: '0.1.0', browser: 'chrome' } as const;

async function rejection(promise: Promise<unknown>): Promise<BaseError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof BaseError) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

// Sessions are remembered per server origin for the whole module, as in the background: each test starts without.
beforeEach(() => forgetDeviceSessions());

describe('api client', () => {
  it('registers with a body signed byte for byte, without credentials, and reads the device', async () => {
    const server = createFakeGleanerServer();
    const api = createApiClient({ serverUrl: server.origin, account, fetch: server.fetch });
    const device = await api.registerDevice(registration);
    expect(device.address).toBe(account.address);
    const [request] = server.received;
    expect(request).toMatchObject({ method: 'POST', path: '/v1/devices', credentials: 'omit' });
    expect(request?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request?.body ?? '')).toEqual(registration);
    expect((await api.getOwnDevice()).address).toBe(account.address);
  });

  it('signs the path as sent when the server lives below a path', async () => {
    let seen: { path: string; verified: string } | undefined;
    const fetch: FetchFn = async (input, init) => {
      const url = new URL(input);
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      const path = `${url.pathname}${url.search}`;
      const { device } = await verifyRequestSignature(
        headers,
        { method: 'GET', path, body: new Uint8Array() },
        // The origin is signed, not the path below it.
        { origins: ['https://example.org'], chainId: defaultChainId },
      );
      seen = { path, verified: device };
      return new Response('{}', { status: 500 });
    };
    const api = createApiClient({ serverUrl: 'https://example.org/gleaner', account, fetch, sessions: false });
    await rejection(api.getOwnDevice());
    expect(seen).toEqual({ path: '/gleaner/v1/devices/me', verified: account.address });
  });

  it('turns a network failure into server_unreachable with words for people', async () => {
    const server = createFakeGleanerServer();
    server.setReachable(false);
    const api = createApiClient({ serverUrl: server.origin, account, fetch: server.fetch });
    const error = await rejection(api.getOwnDevice());
    expect(error.code).toBe('server_unreachable');
    expect(error.message).toContain(`Could not reach the Gleaner server at ${server.origin}`);
  });

  it('turns a timeout into server_unreachable', async () => {
    const fetch: FetchFn = (_input, init) =>
      new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    const api = createApiClient({ serverUrl: 'https://example.org', account, fetch, timeoutMs: 20 });
    const error = await rejection(api.getOwnDevice());
    expect(error.code).toBe('server_unreachable');
    expect(error.message).toMatch(/did not answer within/);
  });

  it('rebuilds the server’s own error from its JSON body', async () => {
    const server = createFakeGleanerServer();
    const api = createApiClient({ serverUrl: server.origin, account, fetch: server.fetch });
    const error = await rejection(api.getOwnDevice());
    expect(error.code).toBe('device_unknown');
    expect(error.message).toMatch(/not registered/);
  });

  it('reports any other failure as server_rejected with the HTTP status', async () => {
    const fetch: FetchFn = async () => new Response('<h1>Bad gateway</h1>', { status: 502, statusText: 'Bad Gateway' });
    const api = createApiClient({ serverUrl: 'https://example.org', account, fetch });
    const error = await rejection(api.getOwnDevice());
    expect(error.code).toBe('server_rejected');
    expect(error.message).toContain('HTTP 502');
  });

  it('rejects a successful reply that does not match the protocol', async () => {
    const fetch: FetchFn = async () => Response.json({ address: 'not an address' });
    const api = createApiClient({ serverUrl: 'https://example.org', account, fetch });
    expect((await rejection(api.getOwnDevice())).code).toBe('server_rejected');
  });

  it('keeps the HTTP status beside the server’s own error details', async () => {
    const fetch: FetchFn = async () =>
      Response.json({ code: 'bad_request', message: 'Not JSON.', details: { at: 'body' } }, { status: 400 });
    const api = createApiClient({ serverUrl: 'https://example.org', account, fetch });
    const error = await rejection(api.getOwnDevice());
    expect(error.toBody()).toEqual({
      code: 'bad_request',
      message: 'Not JSON.',
      details: { at: 'body', server: 'https://example.org', status: 400 },
    });
    expect(serverStatusOf(error)).toBe(400);
    expect(serverRetryAfterSecondsOf(error)).toBeNull();
  });

  it('reads the Retry-After of a 429 or 503, in seconds or as an HTTP date', async () => {
    const now = Date.parse('2025-06-01T12:00:00Z');
    const answers = [
      Response.json({ code: 'overloaded', message: 'Busy.' }, { status: 503, headers: { 'retry-after': '120' } }),
      Response.json(
        { code: 'rate_limited', message: 'Slow down.' },
        { status: 429, headers: { 'retry-after': new Date(now + 45_000).toUTCString() } },
      ),
      new Response('busy', { status: 503, headers: { 'retry-after': '30' } }),
      Response.json({ code: 'overloaded', message: 'Busy.' }, { status: 503 }),
    ];
    const fetch: FetchFn = async () => answers.shift() ?? new Response(null, { status: 500 });
    const api = createApiClient({ serverUrl: 'https://example.org', account, fetch, now: () => now });
    const waits = [];
    for (let i = 0; i < 4; i += 1) {
      const error = await rejection(api.leaseJobs(1));
      waits.push([error.code, serverStatusOf(error), serverRetryAfterSecondsOf(error)]);
    }
    expect(waits).toEqual([
      ['overloaded', 503, 120],
      ['rate_limited', 429, 45],
      ['server_rejected', 503, 30],
      ['overloaded', 503, null],
    ]);
  });

  it('clamps an absurd Retry-After to an hour', async () => {
    const fetch: FetchFn = async () =>
      Response.json({ code: 'overloaded', message: 'Busy.' }, { status: 503, headers: { 'retry-after': '99999999' } });
    const api = createApiClient({ serverUrl: 'https://example.org', account, fetch });
    const error = await rejection(api.getPoints());
    expect(serverRetryAfterSecondsOf(error)).toBe(maxServerRetryAfterSeconds);
    expect(maxServerRetryAfterSeconds).toBe(3_600);
  });
});

interface SeenRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

/**
 * Answers like the Gleaner server's device routes with the server's own session store (device-sessions.ts):
 * signed requests checked as device-auth.ts does, session requests by the store's MAC and counter checks,
 * session headers refused on registration and the handshake. `restart()` loses every session, as a restart
 * or another replica does; `withoutSessionRoute` is a server from before sessions.
 */
function createSessionServer(
  settings: {
    now: () => number;
    origin?: string;
    base?: string;
    withoutSessionRoute?: boolean;
    limits?: Partial<serverSessions.DeviceSessionLimits>;
  } = { now: Date.now },
) {
  const origin = settings.origin ?? 'https://gleaner.example.org';
  const base = settings.base ?? '';
  const limits = { ...serverSessions.defaultDeviceSessionLimits, ...settings.limits };
  let store = serverSessions.deviceSessions(limits, settings.now);
  const received: SeenRequest[] = [];
  /** Answers to send instead of the route's, one per request, for the next requests to a path. */
  const overrides: { path: string; answer: () => Response }[] = [];
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const registered = { extensionVersion: '0.1.0', browser: 'chrome', registeredAt: new Date(0).toISOString() };

  const fetch: FetchFn = async (input, init) => {
    const url = new URL(input);
    if (url.origin !== origin) throw new TypeError('Failed to fetch');
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const body = init.body instanceof Uint8Array ? init.body : new Uint8Array();
    const method = init.method ?? 'GET';
    const path = `${url.pathname}${url.search}`;
    const route = url.pathname.slice(base.length);
    received.push({ method, path, headers });
    const override = overrides.findIndex((entry) => entry.path === route);
    if (override >= 0) return overrides.splice(override, 1)[0]?.answer() ?? json(500, {});
    try {
      const signatureOnly = method === 'POST' && (route === '/v1/devices' || route === '/v1/devices/sessions');
      const claimed = readSessionHeaders(headers);
      let device: string;
      if (claimed) {
        if (signatureOnly) throw new AuthError('signature_missing', `${route} must be signed by the device key.`);
        device = store.verify(claimed, { method, path, bodyHash: hashBody(body) });
      } else {
        ({ device } = await verifyRequestSignature(
          headers,
          { method, path, body },
          { origins: [origin], chainId: defaultChainId },
        ));
      }
      if (method === 'POST' && route === '/v1/devices/sessions' && !settings.withoutSessionRoute) {
        const { publicKey } = JSON.parse(new TextDecoder().decode(body));
        return json(201, store.open(device as `0x${string}`, publicKey, origin));
      }
      if (method === 'GET' && route === '/v1/devices/me') {
        return json(200, { address: device, ...registered, lastSeenAt: new Date().toISOString() });
      }
      if (method === 'POST' && route === '/v1/jobs/lease') return json(200, { jobs: [], retryAfterSeconds: 60 });
      if (method === 'GET' && route === '/v1/devices/me/points-by-day') {
        return json(200, { timeZone: url.searchParams.get('timeZone'), days: [] });
      }
      if (method === 'POST' && route === '/v1/results') {
        const { batchId } = JSON.parse(new TextDecoder().decode(await gunzip(body)));
        return json(200, { batchId, acks: [] });
      }
      throw new BaseError('not_found', `No route ${method} ${route}.`);
    } catch (error) {
      if (error instanceof BaseError) return json(httpStatusOf(error.code), error.toBody());
      throw error;
    }
  };

  return {
    origin,
    fetch,
    received,
    /** Forgets every session, as a restarted server (or another replica) has none. */
    restart() {
      store = serverSessions.deviceSessions(limits, settings.now);
    },
    /** Answers the next request to `route` with this instead. */
    answerNext(route: string, answer: () => Response) {
      overrides.push({ path: route, answer });
    },
    /** The next request to `route` is refused with this code, as the server's error handler would. */
    refuseNext(route: string, code: ErrorCode) {
      overrides.push({ path: route, answer: () => json(httpStatusOf(code), { code, message: `refused: ${code}` }) });
    },
    handshakes: () => received.filter((request) => request.path === `${base}/v1/devices/sessions`).length,
    /** How each request other than handshakes was authenticated, in order. */
    authOf: () =>
      received
        .filter((request) => request.path !== `${base}/v1/devices/sessions`)
        .map((request) => {
          const counter = request.headers[sessionHeaders.counter];
          const signed = request.headers[signatureHeaders.signature] !== undefined;
          if (counter !== undefined && signed) return 'both';
          return counter !== undefined ? `session ${counter}` : signed ? 'signed' : 'none';
        }),
  };
}

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2025-06-01T12:00:00Z')) {
  const clock = { at: start, now: () => clock.at, advance: (ms: number) => (clock.at += ms) };
  return clock;
}

const minutes = (n: number) => n * 60_000;

describe('api client with device sessions', () => {
  const clientFor = (
    server: ReturnType<typeof createSessionServer>,
    clock: { now: () => number },
    extra: Partial<ApiClientOptions> = {},
  ) => createApiClient({ serverUrl: server.origin, account, fetch: server.fetch, now: clock.now, ...extra });

  it('opens one session for concurrent first requests, then authenticates each by its own counter', async () => {
    const clock = manualClock();
    const server = createSessionServer({ now: clock.now });
    // The background makes a new client per operation: they share the session.
    const replies = await Promise.all(Array.from({ length: 5 }, () => clientFor(server, clock).getOwnDevice()));
    expect(replies.map((device) => device.address)).toEqual(Array(5).fill(account.address));
    await clientFor(server, clock).leaseJobs(3);
    await clientFor(server, clock).getOwnDevice();

    expect(server.handshakes()).toBe(1);
    const auth = server.authOf();
    expect(auth).toHaveLength(7);
    expect(new Set(auth)).toEqual(new Set([1, 2, 3, 4, 5, 6, 7].map((counter) => `session ${counter}`)));
    // The handshake itself is signed by the device key.
    expect(server.received[0]?.headers[signatureHeaders.signature]).toMatch(/^0x/);
    expect(server.received[0]?.headers[sessionHeaders.session]).toBeUndefined();
  });

  it('authenticates a gzipped upload, a query string and a server below a path by the session MAC', async () => {
    const clock = manualClock();
    const server = createSessionServer({ now: clock.now, origin: 'https://example.org', base: '/gleaner' });
    const api = createApiClient({
      serverUrl: 'https://example.org/gleaner/',
      account,
      fetch: server.fetch,
      now: clock.now,
    });
    const batchId = '0b8f3c52-5d1e-4e8a-9a3c-1f2e3d4c5b6a';
    // The server's store checks each MAC over the path as received and the compressed bytes.
    expect(await api.uploadResults(batchId, [{ kind: 'label', text: 'x'.repeat(5000) }])).toEqual({
      batchId,
      acks: [],
    });
    expect(await api.getPointsByDay(7, 'Europe/Paris')).toEqual({ timeZone: 'Europe/Paris', days: [] });
    expect(server.received.map((request) => request.path)).toEqual([
      '/gleaner/v1/devices/sessions',
      '/gleaner/v1/results',
      '/gleaner/v1/devices/me/points-by-day?days=7&timeZone=Europe%2FParis',
    ]);
    expect(server.authOf()).toEqual(['session 1', 'session 2']);
  });

  it('registers signed by the device key even while a session is open', async () => {
    const clock = manualClock();
    const server = createSessionServer({ now: clock.now });
    const api = clientFor(server, clock);
    await api.getOwnDevice();
    // The stand-in server has no registration route: what matters is how the request came.
    await rejection(api.registerDevice(registration));
    expect(server.authOf()).toEqual(['session 1', 'signed']);
  });

  it('resends a request signed when the server no longer holds its session, then opens a new one', async () => {
    const clock = manualClock();
    const server = createSessionServer({ now: clock.now });
    await clientFor(server, clock).getOwnDevice();
    clock.advance(minutes(5));
    server.restart();

    const device = await clientFor(server, clock).getOwnDevice();
    expect(device.address).toBe(account.address);
    await clientFor(server, clock).leaseJobs(1);

    expect(server.received.map((request) => request.path)).toEqual([
      '/v1/devices/sessions',
      '/v1/devices/me',
      '/v1/devices/me',
      '/v1/devices/me',
      '/v1/devices/sessions',
      '/v1/jobs/lease',
    ]);
    expect(server.authOf()).toEqual(['session 1', 'session 2', 'signed', 'session 1']);
  });

  it('resends signed and drops a session the server refuses as replayed or with a bad MAC', async () => {
    const clock = manualClock();
    const server = createSessionServer({ now: clock.now });
    await clientFor(server, clock).getOwnDevice();
    server.refuseNext('/v1/jobs/lease', 'nonce_replayed');
    expect(await clientFor(server, clock).leaseJobs(1)).toEqual({ jobs: [], retryAfterSeconds: 60 });
    server.refuseNext('/v1/jobs/lease', 'signature_invalid');
    expect(await clientFor(server, clock).leaseJobs(1)).toEqual({ jobs: [], retryAfterSeconds: 60 });
    await clientFor(server, clock).getOwnDevice();
    // Neither refusal is taken for a server that loses sessions: the next request opens a third one.
    expect(server.handshakes()).toBe(3);
    expect(server.authOf()).toEqual(['session 1', 'session 2', 'signed', 'session 1', 'signed', 'session 1']);
  });

  it('does not resend a request the server refused for a reason of its own', async () => {
    const clock = manualClock();
    const server = createSessionServer({ now: clock.now });
    await clientFor(server, clock).getOwnDevice();
    server.refuseNext('/v1/jobs/lease', 'device_unknown');
    expect((await rejection(clientFor(server, clock).leaseJobs(1))).code).toBe('device_unknown');
    expect(server.authOf()).toEqual(['session 1', 'session 2']);
  });

  it('signs every request for ten minutes when sessions die as soon as opened (no sticky load balancer)', async () => {
    const clock = manualClock();
    const server = createSessionServer({ now: clock.now });
    await clientFor(server, clock).getOwnDevice();
    clock.advance(10_000);
    server.restart();
    await clientFor(server, clock).getOwnDevice();
    clock.advance(minutes(9));
    await clientFor(server, clock).getOwnDevice();
    expect(server.handshakes()).toBe(1);
    clock.advance(minutes(1) + 1000);
    await clientFor(server, clock).getOwnDevice();
    expect(server.handshakes()).toBe(2);
    expect(server.authOf()).toEqual(['session 1', 'session 2', 'signed', 'signed', 'session 1']);
  });

  it('signs every request for an hour when the server has no session route', async () => {
    const clock = manualClock();
    const server = createSessionServer({ now: clock.now, withoutSessionRoute: true });
    expect((await clientFor(server, clock).getOwnDevice()).address).toBe(account.address);
    expect(server.received[0]?.path).toBe('/v1/devices/sessions');
    await Promise.all([clientFor(server, clock).leaseJobs(1), clientFor(server, clock).getOwnDevice()]);
    clock.advance(minutes(59));
    await clientFor(server, clock).getOwnDevice();
    expect(server.handshakes()).toBe(1);
    expect(server.authOf()).toEqual(['signed', 'signed', 'signed', 'signed']);

    clock.advance(minutes(1) + 1000);
    await clientFor(server, clock).getOwnDevice();
    expect(server.handshakes()).toBe(2);
  });

  it('signs requests when the handshake is refused with 400 or 401, and retries sessions an hour later', async () => {
    for (const code of ['bad_request', 'signature_wrong_server'] as const) {
      forgetDeviceSessions();
      const clock = manualClock();
      const server = createSessionServer({ now: clock.now });
      server.refuseNext('/v1/devices/sessions', code);
      await clientFor(server, clock).getOwnDevice();
      await clientFor(server, clock).getOwnDevice();
      clock.advance(minutes(61));
      await clientFor(server, clock).getOwnDevice();
      expect(server.authOf()).toEqual(['signed', 'signed', 'session 1']);
    }
  });

  it('fails the request with the server’s wait when the handshake is answered 429 or 503, and tries again next time', async () => {
    const clock = manualClock();
    const server = createSessionServer({ now: clock.now });
    for (const [status, code] of [
      [429, 'rate_limited'],
      [503, 'overloaded'],
    ] as const) {
      server.answerNext(
        '/v1/devices/sessions',
        () =>
          new Response(JSON.stringify({ code, message: 'Not now.' }), {
            status,
            headers: { 'content-type': 'application/json', 'retry-after': '120' },
          }),
      );
      const error = await rejection(clientFor(server, clock).leaseJobs(1));
      expect([error.code, serverStatusOf(error), serverRetryAfterSecondsOf(error)]).toEqual([code, status, 120]);
    }
    await clientFor(server, clock).leaseJobs(1);
    expect(server.handshakes()).toBe(3);
    expect(server.authOf()).toEqual(['session 1']);
  });

  it('fails the request as unreachable when the handshake gets no answer, and tries again next time', async () => {
    const clock = manualClock();
    const server = createSessionServer({ now: clock.now });
    const unreachable = { ...server, fetch: (async () => Promise.reject(new TypeError('Failed to fetch'))) as FetchFn };
    const error = await rejection(clientFor(unreachable, clock).getOwnDevice());
    expect(error.code).toBe('server_unreachable');
    await clientFor(server, clock).getOwnDevice();
    expect(server.authOf()).toEqual(['session 1']);
  });

  it('opens a new session a minute before the server would forget it, by the local clock', async () => {
    const clock = manualClock();
    const server = createSessionServer({ now: clock.now, limits: { ttlSeconds: 30 * 60 } });
    await clientFor(server, clock).getOwnDevice();
    clock.advance(minutes(28));
    await clientFor(server, clock).getOwnDevice();
    expect(server.handshakes()).toBe(1);
    clock.advance(minutes(1) + 1000);
    await clientFor(server, clock).getOwnDevice();
    expect(server.handshakes()).toBe(2);
    // The old session was never refused: the client replaced it before the server forgot it.
    expect(server.authOf()).toEqual(['session 1', 'session 2', 'session 1']);
  });

  it('signs every request and never opens a session when told not to', async () => {
    const clock = manualClock();
    const server = createSessionServer({ now: clock.now });
    const api = clientFor(server, clock, { sessions: false });
    await Promise.all([api.getOwnDevice(), api.leaseJobs(1), api.getOwnDevice()]);
    expect(server.handshakes()).toBe(0);
    expect(server.authOf()).toEqual(['signed', 'signed', 'signed']);
  });
});
