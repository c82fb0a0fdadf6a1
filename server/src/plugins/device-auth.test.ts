import { signatureHeaders } from '@protocol/signing';
import Fastify, { type FastifyInstance } from 'fastify';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { Database } from '../db/database';
import { deviceRepository } from '../repositories/device-repository';
import { signedInject, testSigningServer } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { deviceSigned } from './device-auth';
import { setupErrorHandler } from './error-handler';
import { setupRequestBody } from './request-body';

/**
 * `deviceSigned` on its own, on a real database whose statements are recorded: what a signed request costs
 * the database and what it leaves in it, whatever the routes behind it do.
 */
describeEachDatabase('device authentication', (database) => {
  let app: FastifyInstance;
  let db: Database;
  const statements: string[] = [];
  const device = privateKeyToAccount(generatePrivateKey());

  beforeAll(async () => {
    db = database();
    const recorded: Database = {
      ...db,
      query: (text, params) => {
        statements.push(text);
        return db.query(text, params);
      },
    };
    const context = {
      db: recorded,
      server: { origins: [testSigningServer.origin], chainId: testSigningServer.chainId },
    };
    app = Fastify();
    app.decorateRequest('device', null);
    setupErrorHandler(app);
    setupRequestBody(app);
    const answer = async (request: { device: string | null; body: unknown }) => ({
      device: request.device,
      body: request.body ?? null,
    });
    app.get('/probe', deviceSigned(context), answer);
    app.post('/probe', deviceSigned(context), answer);
    app.post('/register', deviceSigned(context, { allowUnknownDevice: true }), answer);
    await app.ready();
    await deviceRepository(db).upsert(device.address, { extensionVersion: '0.1.0', browser: 'chrome' });
  });
  afterAll(async () => {
    await app.close();
  });
  beforeEach(() => {
    statements.length = 0;
  });

  const nonceRows = async (address: string) =>
    (
      await db.query<{ nonce: string }>('select nonce from request_nonces where device = $1 order by nonce', [address])
    ).map((row) => row.nonce);

  it('checks the device and claims the nonce of a signed request in one statement', async () => {
    const response = await signedInject(app, device, { method: 'POST', url: '/probe', body: { pages: [1, 2] } });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({ device: device.address, body: { pages: [1, 2] } });
    expect(statements).toHaveLength(1);
  });

  it('refuses a well-signed request from an unknown device with device_unknown and records nothing for it', async () => {
    const stranger = privateKeyToAccount(generatePrivateKey());
    let sent: Record<string, string> = {};
    const response = await signedInject(app, stranger, {
      method: 'GET',
      url: '/probe',
      headers: (signed) => {
        sent = signed;
        return signed;
      },
    });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({
      code: 'device_unknown',
      message: `Device ${stranger.address} is not registered; register it first.`,
    });
    expect(await nonceRows(stranger.address)).toEqual([]);
    // Its nonce was not spent: once the device registers, the same request is accepted, once.
    await deviceRepository(db).upsert(stranger.address, { extensionVersion: '0.1.0', browser: 'chrome' });
    expect((await app.inject({ method: 'GET', url: '/probe', headers: sent })).statusCode).toBe(200);
    const replay = await app.inject({ method: 'GET', url: '/probe', headers: sent });
    expect(replay.json().code).toBe('nonce_replayed');
    // The nonce is signed as bytes: the same request with its nonce in capitals is the same request, a replay.
    const shouted = `0x${(sent[signatureHeaders.nonce] ?? '').slice(2).toUpperCase()}`;
    const recased = await app.inject({
      method: 'GET',
      url: '/probe',
      headers: { ...sent, [signatureHeaders.nonce]: shouted },
    });
    expect(recased.json().code).toBe('nonce_replayed');
    expect(await nonceRows(stranger.address)).toEqual([sent[signatureHeaders.nonce]]);
  });

  it('accepts each signed request exactly once, however many copies arrive at the same time', async () => {
    let sent: Record<string, string> = {};
    await signedInject(app, device, {
      method: 'GET',
      url: '/probe',
      headers: (signed) => {
        sent = signed;
        return { ...signed, [signatureHeaders.nonce]: `0x${'00'.repeat(32)}` };
      },
    });
    statements.length = 0;
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => app.inject({ method: 'GET', url: '/probe', headers: sent })),
    );
    const codes = responses.map((response) => (response.statusCode === 200 ? 'ok' : response.json().code)).sort();
    expect(codes).toEqual([...Array(7).fill('nonce_replayed'), 'ok']);
    expect(await nonceRows(device.address)).toContain(sent[signatureHeaders.nonce]);
    expect(statements).toHaveLength(8);
  });

  it('refuses a forged request before it reaches the database, naming the signature', async () => {
    const other = privateKeyToAccount(generatePrivateKey());
    const response = await signedInject(app, other, {
      method: 'GET',
      url: '/probe',
      headers: (signed) => ({ ...signed, [signatureHeaders.device]: device.address }),
    });
    expect(response.json()).toEqual({
      code: 'signature_invalid',
      message: 'The signature does not match the device and request it claims.',
    });
    expect(statements).toEqual([]);
  });

  it('records the nonce of a registration from a device it does not know yet, and refuses its replay', async () => {
    const newcomer = privateKeyToAccount(generatePrivateKey());
    let sent: Record<string, string> = {};
    const first = await signedInject(app, newcomer, {
      method: 'POST',
      url: '/register',
      body: { extensionVersion: '0.1.0' },
      headers: (signed) => {
        sent = signed;
        return signed;
      },
    });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json().device).toBe(newcomer.address);
    expect(statements).toHaveLength(1);
    expect(await nonceRows(newcomer.address)).toEqual([sent[signatureHeaders.nonce]]);
    const replay = await app.inject({
      method: 'POST',
      url: '/register',
      headers: { ...sent, 'content-type': 'application/json' },
      payload: JSON.stringify({ extensionVersion: '0.1.0' }),
    });
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toEqual({
      code: 'nonce_replayed',
      message: 'This request was already received once; each signed request is accepted only once.',
    });
  });
});
