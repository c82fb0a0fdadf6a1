import { randomBytes } from 'node:crypto';
import { recoverTypedDataAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  checkRequestSigner,
  hashBody,
  type RequestToSign,
  readSignatureHeaders,
  requestDomain,
  requestTypes,
  type SignatureHeaders,
  signRequest,
} from '../protocol/signing';
import { buildApp } from '../server/src/app';
import type { Database } from '../server/src/db/database';
import { migrate } from '../server/src/db/migrate';
import { openPgliteDatabase } from '../server/src/db/pglite-database';
import { openPostgresDatabase } from '../server/src/db/postgres-database';
import { libsecp256k1Signer, recoverSignerWithLibsecp256k1 } from '../server/src/plugins/request-signature';
import { defaultScrapingSettings } from '../server/src/scraping-settings';
import { benchLimits, benchServerIdentity, benchSigningServer, median, numberFromEnv, timeRuns } from './stats';

const me: RequestToSign = { method: 'GET', path: '/v1/devices/me', body: new Uint8Array() };

/** Opens the bench database: PostgreSQL in a fresh schema when `DATABASE_URL` is set, PGlite otherwise. */
async function openBenchDatabase(): Promise<{ db: Database; label: string; dispose: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const db = await openPgliteDatabase();
    await migrate(db);
    return { db, label: 'PGlite', dispose: () => db.close() };
  }
  const schema = `gleaner_signing_${randomBytes(6).toString('hex')}`;
  const admin = await openPostgresDatabase(url, { maxConnections: 1 });
  await admin.exec(`create schema ${schema}`);
  const db = await openPostgresDatabase(url, { schema });
  await migrate(db);
  return {
    db,
    label: 'PostgreSQL',
    dispose: async () => {
      await db.close();
      await admin.exec(`drop schema ${schema} cascade`);
      await admin.close();
    },
  };
}

/** Counts the statements a database runs, to report round trips per request (load does not change them). */
function counted(db: Database): { db: Database; statements: () => number } {
  let statements = 0;
  return {
    db: {
      ...db,
      query: (text, params) => {
        statements += 1;
        return db.query(text, params);
      },
      transaction: (fn) =>
        db.transaction((tx) =>
          fn({
            query: (text, params) => {
              statements += 1;
              return tx.query(text, params);
            },
          }),
        ),
    },
    statements: () => statements,
  };
}

interface RunFigures {
  /** Requests per second, one after another. */
  rate: number;
  /** CPU of this process per request (client fetch, server, PGlite's worker), microseconds. */
  cpuMicros: number;
}

/** Sends `requests` one after another, timed from the first send; `headers` are ready before the clock starts. */
async function timedRun(url: string, path: string, headers: Array<Record<string, string> | undefined>) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (const sent of headers) {
    const response = await fetch(`${url}${path}`, sent ? { headers: sent } : undefined);
    if (!response.ok) throw new Error(`${path} failed: ${response.status} ${await response.text()}`);
    await response.arrayBuffer();
  }
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return {
    rate: (headers.length / elapsed) * 1000,
    cpuMicros: (used.user + used.system) / headers.length,
  } satisfies RunFigures;
}

/** Median microseconds per call of `fn`, over `runs` runs of `calls` calls. */
async function microsPerCall(runs: number, calls: number, fn: () => unknown): Promise<number> {
  const times = await timeRuns(runs, async () => {
    for (let i = 0; i < calls; i += 1) await fn();
  });
  return (median(times) * 1000) / calls;
}

/**
 * What device authentication costs per request: signed GET /v1/devices/me (signature check, one statement for
 * the device and nonce, then the route's own two) against its anchor, the unauthenticated GET /health, in one
 * run, alternating. Requests are signed before each timed run, so the figures are the server's (and the HTTP
 * client's, the same for both); client signing is reported on its own. The server's signer check is also
 * timed in-process, viem's (as before libsecp256k1) against the current one.
 */
export async function benchRequestSigning(): Promise<string> {
  const requests = numberFromEnv('GLEANER_BENCH_SIGNING_REQUESTS', 200);
  const runs = numberFromEnv('GLEANER_BENCH_SIGNING_RUNS', 7);
  const { db, label, dispose } = await openBenchDatabase();
  const statements = counted(db);
  const app = await buildApp({
    db: statements.db,
    operatorToken: 'bench-operator-token-0123456789',
    version: 'bench',
    scraping: { ...defaultScrapingSettings, limits: benchLimits },
    server: benchServerIdentity,
    robotsIntervalMs: 0,
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const privateKey = generatePrivateKey();
  const account = privateKeyToAccount(privateKey);
  const signer = libsecp256k1Signer(privateKey);
  const register = new TextEncoder().encode(JSON.stringify({ extensionVersion: 'bench', browser: 'other' }));
  const registered = await fetch(`${url}/v1/devices`, {
    method: 'POST',
    headers: {
      ...(await signRequest(signer, { method: 'POST', path: '/v1/devices', body: register }, benchSigningServer)),
      'content-type': 'application/json',
    },
    body: register,
  });
  if (!registered.ok) throw new Error(`registration failed: ${registered.status}`);

  const signAll = async (): Promise<SignatureHeaders[]> => {
    const all: SignatureHeaders[] = [];
    for (let i = 0; i < requests; i += 1) all.push(await signRequest(signer, me, benchSigningServer));
    return all;
  };
  // Warm both paths (JIT, connection pool, prepared plans) before measuring.
  await timedRun(url, '/health', Array(50).fill(undefined));
  await timedRun(url, me.path, (await signAll()).slice(0, 50));

  const plain: RunFigures[] = [];
  const signed: RunFigures[] = [];
  let statementsPerSigned = 0;
  for (let run = 0; run < runs; run += 1) {
    plain.push(await timedRun(url, '/health', Array(requests).fill(undefined)));
    const headers = await signAll();
    const before = statements.statements();
    signed.push(await timedRun(url, me.path, headers));
    statementsPerSigned = (statements.statements() - before) / requests;
  }
  await app.close();
  await dispose();

  // The server's signer check alone, in this process: viem's typed-data recovery as the server did it before,
  // against the cached digest and libsecp256k1 it uses now.
  const sample = await signRequest(account, me, benchSigningServer);
  const claimed = readSignatureHeaders(sample);
  const bodyHash = hashBody(me.body);
  const viemCheck = await microsPerCall(5, 50, () =>
    recoverTypedDataAddress({
      domain: requestDomain({ origin: claimed.server, chainId: benchSigningServer.chainId }),
      types: requestTypes,
      primaryType: 'Request',
      message: { method: 'GET', path: me.path, bodyHash, timestamp: BigInt(claimed.timestamp), nonce: claimed.nonce },
      signature: claimed.signature,
    }),
  );
  const nativeCheck = await microsPerCall(5, 200, () =>
    checkRequestSigner(
      claimed,
      { method: 'GET', path: me.path, bodyHash },
      benchSigningServer.chainId,
      recoverSignerWithLibsecp256k1,
    ),
  );
  const viemSigning = await microsPerCall(5, 50, () => signRequest(account, me, benchSigningServer));
  const nativeSigning = await microsPerCall(5, 200, () => signRequest(signer, me, benchSigningServer));

  const plainRate = median(plain.map((figures) => figures.rate));
  const signedRate = median(signed.map((figures) => figures.rate));
  const plainCpu = median(plain.map((figures) => figures.cpuMicros));
  const signedCpu = median(signed.map((figures) => figures.cpuMicros));
  const row = (name: string, value: string) => `  ${name.padEnd(58)}${value}`;
  return [
    `request signing (${label}, sequential HTTP to a server in this process; requests signed before each timed run; median of ${runs} runs of ${requests} requests each, alternating)`,
    row('GET /health (anchor)', `${plainRate.toFixed(0)} req/s, ${plainCpu.toFixed(0)} us CPU/req`),
    row('signed GET /v1/devices/me', `${signedRate.toFixed(0)} req/s, ${signedCpu.toFixed(0)} us CPU/req`),
    row('signed / anchor (throughput; goal >= 0.6x)', `${(signedRate / plainRate).toFixed(2)}x`),
    row('CPU added by a signed request (auth and route)', `${(signedCpu - plainCpu).toFixed(0)} us`),
    row('statements per signed GET /v1/devices/me', `${statementsPerSigned} (1 for auth, 2 for the route)`),
    'server signer check, in-process (median of 5 runs)',
    row('viem hashTypedData + recovery (before)', `${viemCheck.toFixed(0)} us`),
    row('cached digest + libsecp256k1 recovery (now)', `${nativeCheck.toFixed(0)} us`),
    'client signing per request, not in the timed runs (median of 5 runs)',
    row('viem signTypedData (the extension)', `${viemSigning.toFixed(0)} us`),
    row('libsecp256k1 signer, same bytes (the load bench)', `${nativeSigning.toFixed(0)} us`),
  ].join('\n');
}
