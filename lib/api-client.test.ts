import { BaseError } from '@protocol/errors';
import { defaultChainId, verifyRequestSignature } from '@protocol/signing';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  createApiClient,
  type FetchFn,
  maxServerRetryAfterSeconds,
  serverRetryAfterSecondsOf,
  serverStatusOf,
} from './api-client';
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
    const api = createApiClient({ serverUrl: 'https://example.org/gleaner', account, fetch });
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
