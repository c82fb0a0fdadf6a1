import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { signRequest } from '../protocol/signing';
import { buildApp } from '../server/src/app';
import { migrate } from '../server/src/db/migrate';
import { openPgliteDatabase } from '../server/src/db/pglite-database';
import { defaultScrapingSettings } from '../server/src/scraping-settings';
import { benchLimits, benchServerIdentity, benchSigningServer, median, timeRuns } from './stats';

/**
 * What device authentication costs per request: signed GET /v1/devices/me (signature recovery,
 * device lookup, nonce insert) against its anchor, the unauthenticated GET /health, in one run.
 */
export async function benchRequestSigning(): Promise<string> {
  const db = await openPgliteDatabase();
  await migrate(db);
  const app = await buildApp({
    db,
    operatorToken: 'bench-operator-token-0123456789',
    version: 'bench',
    scraping: { ...defaultScrapingSettings, limits: benchLimits },
    server: benchServerIdentity,
    robotsIntervalMs: 0,
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const device = privateKeyToAccount(generatePrivateKey());
  const register = new TextEncoder().encode(JSON.stringify({ extensionVersion: 'bench', browser: 'other' }));
  await fetch(`${url}/v1/devices`, {
    method: 'POST',
    headers: {
      ...(await signRequest(device, { method: 'POST', path: '/v1/devices', body: register }, benchSigningServer)),
      'content-type': 'application/json',
    },
    body: register,
  });

  const requests = 200;
  const runs = 5;
  const plain = await timeRuns(runs, async () => {
    for (let i = 0; i < requests; i += 1) await (await fetch(`${url}/health`)).arrayBuffer();
  });
  const signed = await timeRuns(runs, async () => {
    for (let i = 0; i < requests; i += 1) {
      const headers = await signRequest(
        device,
        { method: 'GET', path: '/v1/devices/me', body: new Uint8Array() },
        benchSigningServer,
      );
      const response = await fetch(`${url}/v1/devices/me`, { headers });
      if (!response.ok) throw new Error(`signed request failed: ${response.status}`);
      await response.arrayBuffer();
    }
  });
  await app.close();
  await db.close();
  const plainRate = (requests / median(plain)) * 1000;
  const signedRate = (requests / median(signed)) * 1000;
  return [
    'request signing (PGlite, sequential HTTP, client signs too; median of 5 runs of 200 requests)',
    `  GET /health (anchor)             ${plainRate.toFixed(0)} req/s`,
    `  signed GET /v1/devices/me        ${signedRate.toFixed(0)} req/s`,
    `  signed / anchor                  ${(signedRate / plainRate).toFixed(2)}x`,
  ].join('\n');
}
