import { signatureHeaders } from '@protocol/signing';
import type { FastifyInstance } from 'fastify';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp, signedInject, testOperatorToken } from '../test/app';
import { describeEachDatabase } from '../test/databases';

const registration = { extensionVersion: '0.1.0', browser: 'chrome' as const };

describeEachDatabase('device registration and signed requests', (database) => {
  let app: FastifyInstance;
  const device = privateKeyToAccount(generatePrivateKey());
  const stranger = privateKeyToAccount(generatePrivateKey());

  beforeAll(async () => {
    app = await buildTestApp(database());
  });
  afterAll(async () => {
    await app.close();
  });

  it('registers a new device that signs its registration, then lists it for the operator', async () => {
    const first = await signedInject(app, device, { method: 'POST', url: '/v1/devices', body: registration });
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ address: device.address, extensionVersion: '0.1.0', browser: 'chrome' });

    const again = await signedInject(app, device, {
      method: 'POST',
      url: '/v1/devices',
      body: { ...registration, extensionVersion: '0.1.1' },
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ address: device.address, extensionVersion: '0.1.1' });

    const listed = await app.inject({
      method: 'GET',
      url: '/v1/admin/devices',
      headers: { authorization: `Bearer ${testOperatorToken}` },
    });
    expect(listed.json().devices.map((d: { address: string }) => d.address)).toEqual([device.address]);
  });

  it('shows the operator one device with its points and labeling standing', async () => {
    const response = await app.inject({
      method: 'GET',
      url: `/v1/admin/devices/${device.address.toLowerCase()}`,
      headers: { authorization: `Bearer ${testOperatorToken}` },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({
      device: { address: device.address },
      points: { pending: 0, verified: 0, trust: 0 },
      labeling: { goldAnswered: 0, earning: true },
    });
    const missing = await app.inject({
      method: 'GET',
      url: `/v1/admin/devices/${stranger.address}`,
      headers: { authorization: `Bearer ${testOperatorToken}` },
    });
    expect(missing.statusCode).toBe(404);
  });

  it('answers a registered device that signs GET /v1/devices/me', async () => {
    const me = await signedInject(app, device, { method: 'GET', url: '/v1/devices/me' });
    expect(me.statusCode).toBe(200);
    expect(me.json().address).toBe(device.address);
  });

  it('rejects a well-signed request from a device the server does not know', async () => {
    const response = await signedInject(app, stranger, { method: 'GET', url: '/v1/devices/me' });
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('device_unknown');
  });

  it('rejects a request whose signature was made by another key', async () => {
    const response = await signedInject(app, stranger, {
      method: 'GET',
      url: '/v1/devices/me',
      headers: (signed) => ({ ...signed, [signatureHeaders.device]: device.address }),
    });
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('signature_invalid');
  });

  it('rejects a body changed after signing', async () => {
    let headers: Record<string, string> = {};
    await signedInject(app, device, {
      method: 'POST',
      url: '/v1/devices',
      body: registration,
      headers: (signed) => {
        headers = signed;
        return { ...signed, [signatureHeaders.nonce]: `0x${'11'.repeat(32)}` };
      },
    });
    const tampered = await app.inject({
      method: 'POST',
      url: '/v1/devices',
      headers: { ...headers, 'content-type': 'application/json' },
      payload: JSON.stringify({ ...registration, browser: 'firefox' }),
    });
    expect(tampered.statusCode).toBe(401);
    expect(tampered.json().code).toBe('signature_invalid');
  });

  it('rejects a request signed more than five minutes ago', async () => {
    const response = await signedInject(app, device, {
      method: 'GET',
      url: '/v1/devices/me',
      now: new Date(Date.now() - 6 * 60_000),
    });
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('timestamp_stale');
  });

  it('rejects the same signed request sent a second time', async () => {
    let captured: Record<string, string> = {};
    const first = await signedInject(app, device, {
      method: 'GET',
      url: '/v1/devices/me',
      headers: (signed) => {
        captured = signed;
        return signed;
      },
    });
    expect(first.statusCode).toBe(200);
    const replay = await app.inject({ method: 'GET', url: '/v1/devices/me', headers: captured });
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('nonce_replayed');
  });

  it('rejects an unsigned request and names the missing headers', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/devices/me' });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'signature_missing' });
    expect(response.json().message).toContain(signatureHeaders.signature);
  });

  it('says which field of a registration is wrong', async () => {
    const response = await signedInject(app, privateKeyToAccount(generatePrivateKey()), {
      method: 'POST',
      url: '/v1/devices',
      body: { extensionVersion: '', browser: 'netscape' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('bad_request');
    expect(response.json().message).toMatch(/browser/);
    expect(response.json().message).toMatch(/extensionVersion/);
  });

  it('rejects a signed body that is not JSON without failing the server, and an unsigned one before reading it', async () => {
    const payload = '{"extensionVersion": ';
    const unsigned = await app.inject({
      method: 'POST',
      url: '/v1/devices',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    expect(unsigned.statusCode).toBe(401);
    expect(unsigned.json().code).toBe('signature_missing');
    const response = await signedInject(app, privateKeyToAccount(generatePrivateKey()), {
      method: 'POST',
      url: '/v1/devices',
      rawBody: new TextEncoder().encode(payload),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/not valid JSON/);
    const health = await app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
  });
});

describeEachDatabase('device registration with unstorable text', (database) => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp(database());
  });
  afterAll(async () => {
    await app.close();
  });

  it('refuses a version holding a NUL or a broken surrogate as a 400 naming the field, storing nothing', async () => {
    for (const extensionVersion of ['0.1\u0000', '\ud800x']) {
      const device = privateKeyToAccount(generatePrivateKey());
      const response = await signedInject(app, device, {
        method: 'POST',
        url: '/v1/devices',
        body: { extensionVersion, browser: 'chrome' },
      });
      expect(response.statusCode, JSON.stringify(extensionVersion)).toBe(400);
      expect(response.json().message).toMatch(/extensionVersion must not hold a NUL character or a broken/);
      const stored = await database().query('select 1 from devices where address = $1', [device.address]);
      expect(stored).toHaveLength(0);
    }
  });
});
