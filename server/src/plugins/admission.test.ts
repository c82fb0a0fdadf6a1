import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { signRequest } from '@protocol/signing';
import type { FastifyInstance } from 'fastify';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/database';
import { migrate } from '../db/migrate';
import { openPgliteDatabase } from '../db/pglite-database';
import { buildTestApp, testOperatorToken, testSigningServer } from '../test/app';
import { describeEachDatabase } from '../test/databases';

/**
 * Admission control over real HTTP (a client that goes away is a socket closing, which injected
 * requests cannot show). A test-only route holds each request until the test lets it go, so "in
 * flight" is exact and nothing depends on timing but the queue wait itself.
 */
describe('admission control: a bounded number of API requests at once, the rest wait briefly or are shed', () => {
  let app: FastifyInstance | undefined;
  let db: Database | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  beforeAll(async () => {
    db = await openPgliteDatabase();
    await migrate(db);
  });
  afterAll(async () => {
    await db?.close();
  });

  /** A server whose /v1/test/held requests finish only when `releaseOne` is called, in arrival order. */
  const start = async (maxRequestsInFlight: number, maxQueueWaitMs: number) => {
    if (!db) throw new Error('no database');
    app = await buildTestApp(db, { limits: { maxRequestsInFlight, maxQueueWaitMs } });
    const holds: Array<() => void> = [];
    let started = 0;
    const held = async () => {
      started += 1;
      await new Promise<void>((resolve) => holds.push(resolve));
      return { ok: true };
    };
    app.get('/v1/test/held', held);
    app.post('/v1/test/held', held);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
    const until = async (check: () => boolean) => {
      for (let i = 0; i < 500 && !check(); i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(check()).toBe(true);
    };
    return {
      port,
      get,
      until,
      started: () => started,
      releaseOne: () => holds.shift()?.(),
      releaseAll: () => {
        for (const release of holds.splice(0)) release();
      },
    };
  };

  it('admits up to the limit, lets the next one in when a place frees, and sheds one that waited too long', async () => {
    const server = await start(2, 400);
    const first = server.get('/v1/test/held');
    const second = server.get('/v1/test/held');
    await server.until(() => server.started() === 2);
    const third = server.get('/v1/test/held');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.started()).toBe(2);
    // /health and the operator's routes never wait behind the API.
    const health = await server.get('/health');
    expect(health.status).toBe(200);
    const operator = await fetch(`http://127.0.0.1:${server.port}/v1/admin/buyers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${testOperatorToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Buyer added while the API is full' }),
    });
    expect(operator.status).toBe(201);
    server.releaseOne();
    expect((await first).status).toBe(200);
    // The freed place went to the request in line, not back to the pool of free places.
    await server.until(() => server.started() === 3);
    const fourth = await server.get('/v1/test/held');
    expect(fourth.status).toBe(503);
    const retryAfter = Number(fourth.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(5);
    expect(retryAfter).toBeLessThanOrEqual(10);
    expect(await fourth.json()).toEqual({
      code: 'overloaded',
      message: expect.stringMatching(
        /at capacity \(2 requests in progress and none finished within 400 ms\); retry in \d+ s/,
      ),
    });
    expect(server.started()).toBe(3);
    server.releaseOne();
    server.releaseOne();
    expect((await second).status).toBe(200);
    expect((await third).status).toBe(200);
    // Every place came back: two new requests start at once.
    const again = [server.get('/v1/test/held'), server.get('/v1/test/held')];
    await server.until(() => server.started() === 5);
    server.releaseOne();
    server.releaseOne();
    for (const response of await Promise.all(again)) expect(response.status).toBe(200);
  });

  it('gives back the place of a client that went away, whether it was being served or waiting in line', async () => {
    const server = await start(1, 2_000);
    const abandon = () => {
      const request = httpRequest({ host: '127.0.0.1', port: server.port, path: '/v1/test/held' });
      request.on('error', () => {});
      request.end();
      return () => request.destroy();
    };
    const leaveServed = abandon();
    await server.until(() => server.started() === 1);
    const leaveWaiting = abandon();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The one in line leaves: nothing runs for it. Then the one being served leaves, its handler still held.
    leaveWaiting();
    await new Promise((resolve) => setTimeout(resolve, 50));
    leaveServed();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.started()).toBe(1);
    // With one place, a new request starts at once: neither client that left kept a place.
    const next = server.get('/v1/test/held');
    await server.until(() => server.started() === 2);
    server.releaseAll();
    expect((await next).status).toBe(200);
    const last = server.get('/v1/test/held');
    await server.until(() => server.started() === 3);
    server.releaseAll();
    expect((await last).status).toBe(200);
  });

  it('gives back the places of pipelined requests whose connection was reset (their responses never close)', async () => {
    const server = await start(4, 300);
    const socket = connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.on('error', () => {});
    socket.write('GET /v1/test/held HTTP/1.1\r\nHost: gleaner.test\r\n\r\n'.repeat(4));
    await server.until(() => server.started() === 4);
    socket.resetAndDestroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    // The handlers finish although nobody is left to read their answers.
    server.releaseAll();
    const honest = server.get('/v1/test/held');
    await server.until(() => server.started() === 5);
    server.releaseAll();
    expect((await honest).status).toBe(200);
  });

  it('a client trickling its body holds no place, and a route spelled another way is admitted all the same', async () => {
    const server = await start(1, 200);
    const slow = connect(server.port, '127.0.0.1');
    await new Promise((resolve) => slow.once('connect', resolve));
    slow.on('error', () => {});
    slow.write(
      'POST /v1/test/held HTTP/1.1\r\nHost: gleaner.test\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nx',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    const served = server.get('/v1/test/held');
    await server.until(() => server.started() === 1);
    // `/%761/…` is the same route: it needs a place like any other, and there is none.
    const encoded = await server.get('/%761/test/held');
    expect(encoded.status).toBe(503);
    server.releaseAll();
    expect((await served).status).toBe(200);
    slow.destroy();
  });
});

describeEachDatabase('a shed request leaves nothing behind and a retry is served', (database) => {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('a burst of registrations past capacity: the admitted ones are stored, the shed ones are not, and all succeed on retry', async () => {
    app = await buildTestApp(database(), { limits: { maxRequestsInFlight: 1, maxQueueWaitMs: 0 } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as AddressInfo).port;
    const accounts = Array.from({ length: 12 }, () => privateKeyToAccount(generatePrivateKey()));
    const body = new TextEncoder().encode(JSON.stringify({ extensionVersion: '0.1.0', browser: 'chrome' }));
    const register = async (account: (typeof accounts)[number]) => {
      const headers = await signRequest(account, { method: 'POST', path: '/v1/devices', body }, testSigningServer);
      return fetch(`http://127.0.0.1:${port}/v1/devices`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
      });
    };
    const first = await Promise.all(accounts.map(register));
    const statuses = first.map((response) => response.status);
    expect(statuses.every((status) => status === 201 || status === 503)).toBe(true);
    expect(statuses).toContain(503);
    const registered = async () =>
      (
        await database().query<{ address: string }>('select address from devices where address = any($1::text[])', [
          accounts.map((account) => account.address),
        ])
      ).map((row) => row.address);
    expect((await registered()).sort()).toEqual(
      accounts
        .filter((_, i) => statuses[i] === 201)
        .map((account) => account.address)
        .sort(),
    );
    for (const [i, account] of accounts.entries()) {
      if (statuses[i] === 503) expect((await register(account)).status).toBe(201);
    }
    expect((await registered()).length).toBe(accounts.length);
  });
});
