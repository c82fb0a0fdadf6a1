import zlib from 'node:zlib';
import { signatureHeaders } from '@protocol/signing';
import type { FastifyInstance } from 'fastify';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, signedInject } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { gzipBomb } from '../test/gzip-bomb';
import { checkJsonShape } from './request-body';

describe('the JSON shape check', () => {
  it('refuses nesting deeper than the limit and counts values, ignoring brackets inside strings', () => {
    const limits = { maxDepth: 4, maxElements: 5 };
    expect(checkJsonShape('[[[[1]]]]', limits)).toBeNull();
    expect(checkJsonShape('[[[[[1]]]]]', limits)).toMatch(/deeper than 4/);
    expect(checkJsonShape('["[[[[[[[[", {"a": "]]],,,,,,,"}]', limits)).toBeNull();
    expect(checkJsonShape('[1,2,3,4,5,6,7]', limits)).toMatch(/more than 5 values/);
    expect(checkJsonShape('["\\"[[[[[[["]', limits)).toBeNull();
  });
});

describeEachDatabase('authentication before inflation', (database) => {
  let app: FastifyInstance;
  let bomb: Buffer;
  const device = privateKeyToAccount(generatePrivateKey());

  beforeAll(async () => {
    app = await buildTestApp(database());
    bomb = await gzipBomb();
    const registered = await signedInject(app, device, {
      method: 'POST',
      url: '/v1/devices',
      body: { extensionVersion: '0.1.0', browser: 'chrome' },
    });
    expect(registered.statusCode).toBe(201);
  });
  afterAll(async () => {
    await app.close();
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Runs `send` while /health is asked every 5 ms; returns the slowest /health answer. */
  async function slowestHealthDuring(send: () => Promise<unknown>): Promise<number> {
    let slowest = 0;
    let done = false;
    const poll = (async () => {
      while (!done) {
        const started = performance.now();
        const health = await app.inject({ method: 'GET', url: '/health' });
        expect(health.statusCode).toBe(200);
        slowest = Math.max(slowest, performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await send();
    done = true;
    await poll;
    return slowest;
  }

  it('refuses an unsigned, unknown-device or badly signed gzip bomb with 401, never inflating it', async () => {
    expect(bomb.length).toBeLessThan(300 * 1024);
    const gunzip = vi.spyOn(zlib, 'gunzip');
    const rssBefore = process.memoryUsage().rss;
    const stranger = privateKeyToAccount(generatePrivateKey());
    const attempts = [
      // No signature at all.
      () =>
        app.inject({
          method: 'POST',
          url: '/v1/results',
          headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
          payload: bomb,
        }),
      // Signed by a device the server does not know.
      () => signedInject(app, stranger, { method: 'POST', url: '/v1/results', rawBody: bomb, contentEncoding: 'gzip' }),
      // A known device, but the signature covers other bytes.
      () =>
        signedInject(app, device, {
          method: 'POST',
          url: '/v1/results',
          rawBody: new Uint8Array(bomb),
          contentEncoding: 'gzip',
          headers: (signed) => ({ ...signed, [signatureHeaders.nonce]: `0x${'ab'.repeat(32)}` }),
        }),
    ];
    const codes: string[] = [];
    const slowest = await slowestHealthDuring(async () => {
      for (const attempt of attempts) {
        const response = await attempt();
        expect(response.statusCode).toBe(401);
        codes.push(response.json().code);
      }
    });
    expect(codes).toEqual(['signature_missing', 'device_unknown', 'signature_invalid']);
    expect(gunzip).not.toHaveBeenCalled();
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(50 * 1024 * 1024);
    expect(slowest).toBeLessThan(100);
  });

  it('inflates a signed gzip bomb only up to the cap and answers 413 with the reason', async () => {
    const gunzip = vi.spyOn(zlib, 'gunzip');
    const rssBefore = process.memoryUsage().rss;
    let response: Awaited<ReturnType<typeof signedInject>> | undefined;
    const slowest = await slowestHealthDuring(async () => {
      response = await signedInject(app, device, {
        method: 'POST',
        url: '/v1/results',
        rawBody: new Uint8Array(bomb),
        contentEncoding: 'gzip',
      });
    });
    expect(response?.statusCode).toBe(413);
    expect(response?.json()).toMatchObject({ code: 'payload_too_large', message: expect.stringMatching(/32 MB/) });
    expect(gunzip).toHaveBeenCalledTimes(1);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(100 * 1024 * 1024);
    expect(slowest).toBeLessThan(100);
  });

  it('refuses a signed body nested deeper than the limit with 413', async () => {
    const response = await signedInject(app, device, {
      method: 'POST',
      url: '/v1/results',
      rawBody: new TextEncoder().encode(`${'['.repeat(10_000)}${']'.repeat(10_000)}`),
    });
    expect(response.statusCode).toBe(413);
    expect(response.json().message).toMatch(/nested deeper/);
  });

  it('refuses a request signed for another server, naming both', async () => {
    const response = await signedInject(app, device, {
      method: 'GET',
      url: '/v1/devices/me',
      server: { origin: 'https://other-gleaner.example', chainId: 31337 },
    });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({
      code: 'signature_wrong_server',
      message: expect.stringContaining('https://other-gleaner.example'),
    });
  });
});
