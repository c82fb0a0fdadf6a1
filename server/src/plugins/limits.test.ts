import zlib, { gzipSync } from 'node:zlib';
import { signatureHeaders } from '@protocol/signing';
import type { FastifyInstance } from 'fastify';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, expect, it, vi } from 'vitest';
import { buildTestApp, signedInject, type TestSettings } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { registerDevice } from '../test/scrape-fixtures';

const registration = { extensionVersion: '0.1.0', browser: 'chrome' };

describeEachDatabase('limits on every door', (database) => {
  let app: FastifyInstance | undefined;
  const start = async (limits: TestSettings['limits']) => {
    app = await buildTestApp(database(), { limits });
    return app;
  };
  afterEach(async () => {
    vi.restoreAllMocks();
    await app?.close();
    app = undefined;
  });

  it('limits registrations per client IP with 429 rate_limited and Retry-After, other addresses unaffected', async () => {
    const server = await start({ registrationsPerMinutePerIp: 3 });
    const register = (remoteAddress?: string) =>
      signedInject(server, privateKeyToAccount(generatePrivateKey()), {
        method: 'POST',
        url: '/v1/devices',
        body: registration,
        remoteAddress,
      });
    for (let n = 0; n < 3; n += 1) expect((await register()).statusCode).toBe(201);
    const refused = await register();
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toEqual({ code: 'rate_limited', message: expect.stringMatching(/at most 3 a minute/) });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await register('203.0.113.7')).statusCode).toBe(201);
  });

  it('limits each verified device’s signed requests, and a forged device header spends no one’s quota', async () => {
    const server = await start({ deviceRequestsPerMinute: 5 });
    const victim = await registerDevice(server);
    const bystander = await registerDevice(server);
    const attacker = privateKeyToAccount(generatePrivateKey());
    for (let n = 0; n < 10; n += 1) {
      const forged = await signedInject(server, attacker, {
        method: 'GET',
        url: '/v1/devices/me',
        headers: (signed) => ({ ...signed, [signatureHeaders.device]: victim.address }),
      });
      expect(forged.statusCode).toBe(401);
    }
    const me = (device: typeof victim) => signedInject(server, device, { method: 'GET', url: '/v1/devices/me' });
    // Registration was the victim's first signed request of the minute; four more fit.
    for (let n = 0; n < 4; n += 1) expect((await me(victim)).statusCode).toBe(200);
    const refused = await me(victim);
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toEqual({
      code: 'rate_limited',
      message: expect.stringContaining(`Device ${victim.address} sent more than 5 signed requests`),
    });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // One budget across routes: leasing is refused too, and another device is not affected.
    const lease = await signedInject(server, victim, { method: 'POST', url: '/v1/jobs/lease', body: { max: 1 } });
    expect(lease.statusCode).toBe(429);
    expect((await me(bystander)).statusCode).toBe(200);
  });

  it('refuses a device over its budget before inflating its body, and a registration that inflates past 16 KB', async () => {
    const server = await start({ deviceRequestsPerMinute: 2 });
    const device = await registerDevice(server);
    expect((await signedInject(server, device, { method: 'GET', url: '/v1/devices/me' })).statusCode).toBe(200);
    const big = gzipSync(
      JSON.stringify({ batchId: crypto.randomUUID(), results: Array(400).fill({ pad: 'x'.repeat(50_000) }) }),
    );
    const gunzip = vi.spyOn(zlib, 'gunzip');
    const refused = await signedInject(server, device, {
      method: 'POST',
      url: '/v1/results',
      rawBody: new Uint8Array(big),
      contentEncoding: 'gzip',
    });
    expect(refused.statusCode).toBe(429);
    expect(gunzip).not.toHaveBeenCalled();
    const fresh = privateKeyToAccount(generatePrivateKey());
    const padded = gzipSync(JSON.stringify({ ...registration, pad: 'x'.repeat(100_000) }));
    expect(padded.length).toBeLessThan(4096);
    const registered = await signedInject(server, fresh, {
      method: 'POST',
      url: '/v1/devices',
      rawBody: new Uint8Array(padded),
      contentEncoding: 'gzip',
    });
    expect(registered.statusCode).toBe(413);
  });

  it('sheds load with 503 overloaded and Retry-After while the event loop lags, and recovers', async () => {
    const server = await start({ maxEventLoopDelayMs: 5 });
    const health = () => server.inject({ method: 'GET', url: '/health' });
    // Building the app is busy work of its own: start once the shedder has seen a calm second.
    await vi.waitFor(async () => expect((await health()).statusCode).toBe(200), { timeout: 10_000, interval: 200 });
    const device = await registerDevice(server);

    // Keep the event loop lagging, as CPU-heavy requests would, until the check is done: one long block could
    // be sampled before its delay was recorded (the shedder samples once a second), and a loaded machine
    // made that a flake.
    const lag = setInterval(() => {
      const busyUntil = performance.now() + 60;
      while (performance.now() < busyUntil) {
        // Hold the event loop.
      }
    }, 1);
    let shed: Awaited<ReturnType<typeof signedInject>>;
    try {
      // /health tells the truth without a database query: this replica is overloaded.
      await vi.waitFor(
        async () => {
          const sick = await health();
          expect(sick.statusCode).toBe(503);
          expect(sick.json().code).toBe('overloaded');
        },
        { timeout: 10_000, interval: 50 },
      );
      shed = await signedInject(server, device, { method: 'GET', url: '/v1/devices/me' });
    } finally {
      clearInterval(lag);
    }
    expect(shed.statusCode).toBe(503);
    expect(shed.headers['retry-after']).toBe('5');
    expect(shed.json()).toEqual({ code: 'overloaded', message: expect.stringMatching(/event loop delay \d+ ms/) });

    await vi.waitFor(async () => expect((await health()).statusCode).toBe(200), { timeout: 10_000, interval: 200 });
    expect((await signedInject(server, device, { method: 'GET', url: '/v1/devices/me' })).statusCode).toBe(200);
  });
});
