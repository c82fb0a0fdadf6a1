import { BaseError } from '@protocol/errors';
import {
  type DeviceSession,
  deriveDeviceSessionKey,
  generateSessionKeyPair,
  readSessionHeaders,
  type SessionKeyPair,
  sessionHeaders,
  sessionRequestHeaders,
} from '@protocol/sessions';
import { hashBody, signatureHeaders } from '@protocol/signing';
import type { FastifyInstance } from 'fastify';
import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../db/database';
import { buildTestApp, signedInject, testSigningServer } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { type DeviceSessions, defaultDeviceSessionLimits, deviceSessions } from './device-sessions';

const origin = testSigningServer.origin;
const device = privateKeyToAccount(generatePrivateKey()).address;

/** A device's side of an opened session: its key, and the headers of any request it sends. */
async function deviceSide(store: DeviceSessions, address: Address = device) {
  const pair = await generateSessionKeyPair();
  const session = store.open(address, pair.publicKey, origin);
  const key = await deriveDeviceSessionKey(pair.privateKey, session, address, origin);
  const headers = (counter: number, request = { method: 'GET', path: '/v1/devices/me', body: new Uint8Array() }) =>
    sessionRequestHeaders(key, session.sessionId, {
      method: request.method,
      path: request.path,
      bodyHash: hashBody(request.body),
      counter,
    });
  return { session, headers };
}

const me = { method: 'GET', path: '/v1/devices/me', bodyHash: hashBody(new Uint8Array()) };

/** What `verify` says of a request with these headers: the device, or the error code. */
function outcome(store: DeviceSessions, headers: Record<string, string>, request = me): string {
  const claimed = readSessionHeaders(headers);
  if (!claimed) throw new Error('no session headers');
  try {
    return store.verify(claimed, request);
  } catch (error) {
    if (error instanceof BaseError) return error.code;
    throw error;
  }
}

describe('device sessions (one process, no database)', () => {
  it('accepts a request MACed under the key the device derived on its own side, for its device', async () => {
    const store = deviceSessions();
    const { headers } = await deviceSide(store);
    expect(outcome(store, await headers(1))).toBe(device);
  });

  it('accepts each counter once, in any order within the replay window, and none that far below the highest', async () => {
    const store = deviceSessions({ ...defaultDeviceSessionLimits, replayWindow: 64 });
    const { headers } = await deviceSide(store);
    const send = async (counter: number) => outcome(store, await headers(counter));
    expect(await send(5)).toBe(device);
    expect(await send(3)).toBe(device);
    expect(await send(5)).toBe('nonce_replayed');
    expect(await send(3)).toBe('nonce_replayed');
    expect(await send(4)).toBe(device);
    expect(await send(68)).toBe(device);
    // 5 is now 63 below the highest: still inside the window, still spent; 4 is 64 below: refused as too old.
    expect(await send(5)).toBe('nonce_replayed');
    expect(await send(6)).toBe(device);
    expect(await send(4)).toBe('nonce_replayed');
    // A jump past the whole window: nothing from before it is accepted, the jump's neighbours are.
    expect(await send(1_000)).toBe(device);
    expect(await send(900)).toBe('nonce_replayed');
    expect(await send(999)).toBe(device);
    expect(await send(1_000)).toBe('nonce_replayed');
  });

  it('keeps replay slots that the window slid past fresh: a slot reused by a higher counter is not taken as seen', async () => {
    const store = deviceSessions({ ...defaultDeviceSessionLimits, replayWindow: 32 });
    const { headers } = await deviceSide(store);
    for (let counter = 1; counter <= 32; counter += 1) expect(outcome(store, await headers(counter))).toBe(device);
    // 33..63 share slots with 1..31, which were all seen: each must still be accepted once.
    for (let counter = 63; counter >= 33; counter -= 1) expect(outcome(store, await headers(counter))).toBe(device);
    for (let counter = 33; counter <= 63; counter += 1)
      expect(outcome(store, await headers(counter))).toBe('nonce_replayed');
  });

  it('reads a counter only in its one spelling, from 1 to the largest safe integer, so no replay passes re-spelled', async () => {
    const store = deviceSessions();
    const { headers } = await deviceSide(store);
    const genuine = await headers(7);
    for (const counter of ['0', '07', '+7', '7.0', '7e0', ' 7', '-7', '0x7', '9007199254740992', '99999999999999999']) {
      expect(() => readSessionHeaders({ ...genuine, [sessionHeaders.counter]: counter }), counter).toThrow(
        expect.objectContaining({ code: 'signature_invalid' }),
      );
    }
    expect(outcome(store, genuine)).toBe(device);
    // The MAC in capitals is the same bytes: the same request, already received.
    const shouted = { ...genuine, [sessionHeaders.mac]: (genuine[sessionHeaders.mac] as string).toUpperCase() };
    expect(outcome(store, shouted)).toBe('nonce_replayed');
    expect(readSessionHeaders({ ...genuine, [sessionHeaders.counter]: '9007199254740991' })?.counter).toBe(
      Number.MAX_SAFE_INTEGER,
    );
  });

  it('refuses a request altered in method, path, body or counter, without spending the counter it claims', async () => {
    const store = deviceSessions();
    const { headers } = await deviceSide(store);
    const genuine = await headers(7);
    expect(outcome(store, genuine, { ...me, path: '/v1/devices/me/points' })).toBe('signature_invalid');
    expect(outcome(store, genuine, { ...me, method: 'POST' })).toBe('signature_invalid');
    expect(outcome(store, genuine, { ...me, bodyHash: hashBody(new Uint8Array([1])) })).toBe('signature_invalid');
    expect(outcome(store, { ...genuine, [sessionHeaders.counter]: '8' })).toBe('signature_invalid');
    // None of the forgeries spent 7 or 8.
    expect(outcome(store, genuine)).toBe(device);
    expect(outcome(store, await headers(8))).toBe(device);
  });

  it('does not accept one session key for another session, nor another process for this one', async () => {
    const store = deviceSessions();
    const first = await deviceSide(store);
    const second = await deviceSide(store);
    const borrowed = { ...(await first.headers(1)), [sessionHeaders.session]: second.session.sessionId };
    expect(outcome(store, borrowed)).toBe('signature_invalid');
    expect(outcome(deviceSessions(), await first.headers(1))).toBe('session_unknown');
  });

  it('forgets a session once it expires, and the oldest once a device or the process holds too many', async () => {
    let clock = 1_000_000;
    const store = deviceSessions(
      { ...defaultDeviceSessionLimits, ttlSeconds: 60, perDevice: 2, total: 3 },
      () => clock,
    );
    const expiring = await deviceSide(store);
    clock += 59_999;
    expect(outcome(store, await expiring.headers(1))).toBe(device);
    clock += 1;
    expect(outcome(store, await expiring.headers(2))).toBe('session_unknown');
    expect(store.size()).toBe(0);

    const [a, b, c] = [await deviceSide(store), await deviceSide(store), await deviceSide(store)];
    expect(outcome(store, await a.headers(1))).toBe('session_unknown');
    expect(outcome(store, await b.headers(1))).toBe(device);
    expect(outcome(store, await c.headers(1))).toBe(device);
    const others = [0, 1].map(() => privateKeyToAccount(generatePrivateKey()).address);
    const d = await deviceSide(store, others[0]);
    const e = await deviceSide(store, others[1]);
    expect(store.size()).toBe(3);
    expect(outcome(store, await b.headers(2))).toBe('session_unknown');
    expect(outcome(store, await c.headers(2))).toBe(device);
    expect(outcome(store, await d.headers(1))).toBe(others[0]);
    expect(outcome(store, await e.headers(1))).toBe(others[1]);
  });

  it('refuses limits under which opening a session could never make room', () => {
    for (const limits of [
      { perDevice: 0 },
      { total: 0 },
      { ttlSeconds: 0 },
      { replayWindow: 0 },
      { replayWindow: 48 },
    ]) {
      expect(() => deviceSessions({ ...defaultDeviceSessionLimits, ...limits }), JSON.stringify(limits)).toThrow(
        RangeError,
      );
    }
  });

  it('refuses a public key that is not a point on P-256 with bad_request', () => {
    const store = deviceSessions();
    const offCurve = `04${'11'.repeat(64)}`;
    expect(() => store.open(device, offCurve, origin)).toThrow(
      expect.objectContaining({ code: 'bad_request', message: 'publicKey is not a point on P-256.' }),
    );
    expect(store.size()).toBe(0);
  });
});

describeEachDatabase('device sessions over HTTP', (database) => {
  let app: FastifyInstance;
  let otherProcess: FastifyInstance;
  const statements: string[] = [];
  const account = privateKeyToAccount(generatePrivateKey());

  beforeAll(async () => {
    const db = database();
    const recorded: Database = {
      ...db,
      query: (text, params) => {
        statements.push(text);
        return db.query(text, params);
      },
    };
    app = await buildTestApp(recorded);
    otherProcess = await buildTestApp(db);
    const registered = await signedInject(app, account, {
      method: 'POST',
      url: '/v1/devices',
      body: { extensionVersion: '0.1.0', browser: 'chrome' },
    });
    expect(registered.statusCode, registered.body).toBe(201);
  });
  afterAll(async () => {
    await app.close();
    await otherProcess.close();
  });

  async function openSession(by = account): Promise<{ session: DeviceSession; pair: SessionKeyPair; key: CryptoKey }> {
    const pair = await generateSessionKeyPair();
    const opened = await signedInject(app, by, {
      method: 'POST',
      url: '/v1/devices/sessions',
      body: { publicKey: pair.publicKey },
    });
    expect(opened.statusCode, opened.body).toBe(201);
    const session = opened.json() as DeviceSession;
    const key = await deriveDeviceSessionKey(pair.privateKey, session, by.address, origin);
    return { session, pair, key };
  }

  const sessionGet = async (
    target: FastifyInstance,
    key: CryptoKey,
    sessionId: string,
    counter: number,
    url = '/v1/devices/me',
  ) =>
    target.inject({
      method: 'GET',
      url,
      headers: await sessionRequestHeaders(key, sessionId, {
        method: 'GET',
        path: url,
        bodyHash: hashBody(new Uint8Array()),
        counter,
      }),
    });

  const sessionPost = async (key: CryptoKey, sessionId: string, counter: number, url: string, json: unknown) => {
    const body = new TextEncoder().encode(JSON.stringify(json));
    return app.inject({
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/json',
        ...(await sessionRequestHeaders(key, sessionId, {
          method: 'POST',
          path: url,
          bodyHash: hashBody(body),
          counter,
        })),
      },
      payload: Buffer.from(body),
    });
  };

  it('opens a session by a signed request and then answers session requests without asking the database to authenticate', async () => {
    const { session, key } = await openSession();
    expect(session).toMatchObject({ ttlSeconds: 1800, replayWindow: 1024 });

    statements.length = 0;
    const signed = await signedInject(app, account, { method: 'GET', url: '/v1/devices/me' });
    expect(signed.statusCode).toBe(200);
    const signedStatements = statements.length;

    statements.length = 0;
    const bySession = await sessionGet(app, key, session.sessionId, 1);
    expect(bySession.statusCode, bySession.body).toBe(200);
    expect(bySession.json().address).toBe(account.address);
    // The route's own statements only: the signed request also claimed a nonce.
    expect(statements.length).toBe(signedStatements - 1);
    expect(statements.some((text) => text.includes('request_nonces'))).toBe(false);
  });

  it('accepts one of many copies of a session request arriving at once, and refuses the rest as replays', async () => {
    const { session, key } = await openSession();
    const headers = await sessionRequestHeaders(key, session.sessionId, {
      method: 'GET',
      path: '/v1/devices/me',
      bodyHash: hashBody(new Uint8Array()),
      counter: 1,
    });
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => app.inject({ method: 'GET', url: '/v1/devices/me', headers })),
    );
    const codes = responses.map((response) => (response.statusCode === 200 ? 'ok' : response.json().code)).sort();
    expect(codes).toEqual([...Array(7).fill('nonce_replayed'), 'ok']);
  });

  it('answers session_unknown on another server process, which the device key still reaches', async () => {
    const { session, key } = await openSession();
    const elsewhere = await sessionGet(otherProcess, key, session.sessionId, 1);
    expect(elsewhere.statusCode).toBe(401);
    expect(elsewhere.json().code).toBe('session_unknown');
    expect((await signedInject(otherProcess, account, { method: 'GET', url: '/v1/devices/me' })).statusCode).toBe(200);
    // The refusal did not spend counter 1 where the session lives.
    expect((await sessionGet(app, key, session.sessionId, 1)).statusCode).toBe(200);
  });

  it('opens sessions and registers only by the device key: a session cannot open another or register', async () => {
    const { session, key } = await openSession();
    const pair = await generateSessionKeyPair();
    for (const url of ['/v1/devices/sessions', '/v1/devices']) {
      const response = await sessionPost(key, session.sessionId, 1, url, { publicKey: pair.publicKey });
      expect(response.statusCode).toBe(401);
      expect(response.json().code).toBe('signature_missing');
    }
  });

  it('ends the sessions of a device whose row is gone (a restored or cleared database): device_unknown, never a server error', async () => {
    const gone = privateKeyToAccount(generatePrivateKey());
    const registered = await signedInject(app, gone, {
      method: 'POST',
      url: '/v1/devices',
      body: { extensionVersion: '0.1.0', browser: 'chrome' },
    });
    expect(registered.statusCode, registered.body).toBe(201);
    const { session, key } = await openSession(gone);
    await database().query('delete from request_nonces where device = $1', [gone.address]);
    await database().query('delete from devices where address = $1', [gone.address]);
    let counter = 0;
    const post = (url: string) => {
      counter += 1;
      return sessionPost(key, session.sessionId, counter, url, { max: 1 });
    };
    // Work is never handed to a device with no row: each lease finds it missing when it locks the row.
    for (const url of ['/v1/jobs/lease', '/v1/tasks/lease']) {
      const response = await post(url);
      expect([url, response.statusCode, response.json().code]).toEqual([url, 401, 'device_unknown']);
    }
    // GET /v1/devices/me answers from this process's copy of the row, and the write of that sighting finds the
    // row gone: the device's sessions end, so its next request must be signed, and that is refused.
    counter += 1;
    expect((await sessionGet(app, key, session.sessionId, counter)).statusCode).toBe(200);
    await vi.waitFor(
      async () => {
        counter += 1;
        const response = await sessionGet(app, key, session.sessionId, counter);
        expect(response.json().code).toBe('session_unknown');
      },
      { timeout: 10_000, interval: 100 },
    );
    const signed = await signedInject(app, gone, { method: 'GET', url: '/v1/devices/me' });
    expect([signed.statusCode, signed.json().code]).toEqual([401, 'device_unknown']);
    // Registering again works as it did the first time, and a new session is served.
    const again = await signedInject(app, gone, {
      method: 'POST',
      url: '/v1/devices',
      body: { extensionVersion: '0.1.0', browser: 'chrome' },
    });
    expect(again.statusCode, again.body).toBe(201);
    const reopened = await openSession(gone);
    expect((await sessionGet(app, reopened.key, reopened.session.sessionId, 1)).statusCode).toBe(200);
  });

  it('refuses a replayed handshake: a captured one cannot open a session again', async () => {
    const pair = await generateSessionKeyPair();
    let sent: Record<string, string> = {};
    const first = await signedInject(app, account, {
      method: 'POST',
      url: '/v1/devices/sessions',
      body: { publicKey: pair.publicKey },
      headers: (signed) => {
        sent = signed;
        return signed;
      },
    });
    expect(first.statusCode).toBe(201);
    const replay = await app.inject({
      method: 'POST',
      url: '/v1/devices/sessions',
      headers: { ...sent, 'content-type': 'application/json' },
      payload: JSON.stringify({ publicKey: pair.publicKey }),
    });
    expect(replay.json().code).toBe('nonce_replayed');
    expect(sent[signatureHeaders.signature]).toBeDefined();
  });

  it('names what is wrong with malformed session headers and a bad public key', async () => {
    const bad = await app.inject({
      method: 'GET',
      url: '/v1/devices/me',
      headers: { [sessionHeaders.session]: 'nope', [sessionHeaders.counter]: '1', [sessionHeaders.mac]: '00' },
    });
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toMatchObject({ code: 'signature_invalid' });
    expect(bad.json().message).toContain(sessionHeaders.session);
    const offCurve = await signedInject(app, account, {
      method: 'POST',
      url: '/v1/devices/sessions',
      body: { publicKey: `04${'11'.repeat(64)}` },
    });
    expect(offCurve.statusCode).toBe(400);
    expect(offCurve.json()).toEqual({ code: 'bad_request', message: 'publicKey is not a point on P-256.' });
  });

  it('counts on /health the sessions held and the session requests accepted and refused', async () => {
    const figures = async () => (await app.inject({ method: 'GET', url: '/health' })).json().deviceSessions;
    // A device of its own: the suite's device is at its cap of sessions, where opening one forgets one.
    const newcomer = privateKeyToAccount(generatePrivateKey());
    const body = { extensionVersion: '0.1.0', browser: 'chrome' };
    expect((await signedInject(app, newcomer, { method: 'POST', url: '/v1/devices', body })).statusCode).toBe(201);
    const before = await figures();
    const { session, key } = await openSession(newcomer);
    expect((await sessionGet(app, key, session.sessionId, 1)).statusCode).toBe(200);
    expect((await sessionGet(app, key, session.sessionId, 1)).json().code).toBe('nonce_replayed');
    expect((await sessionGet(otherProcess, key, session.sessionId, 2)).json().code).toBe('session_unknown');
    expect(await figures()).toEqual({
      held: before.held + 1,
      accepted: before.accepted + 1,
      refused: before.refused + 1,
    });
  });
});
