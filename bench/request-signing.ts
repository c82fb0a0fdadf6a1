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
import { deviceSigned } from '../server/src/plugins/device-auth';
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
  /** Requests answered per second. */
  rate: number;
  /** CPU of this process per request (HTTP client, server, PGlite's worker), microseconds. */
  cpuMicros: number;
}

/**
 * Sends one request per entry of `headers` (undefined: unsigned), `inFlight` at a time, timed from the first
 * send; the headers are signed before the clock starts.
 */
async function timedRun(
  url: string,
  path: string,
  headers: Array<Record<string, string> | undefined>,
  inFlight: number,
): Promise<RunFigures> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  const client = async () => {
    while (next < headers.length) {
      const sent = headers[next];
      next += 1;
      const response = await fetch(`${url}${path}`, sent ? { headers: sent } : undefined);
      if (!response.ok) throw new Error(`${path} failed: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, client));
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { rate: (headers.length / elapsed) * 1000, cpuMicros: (used.user + used.system) / headers.length };
}

/** Median microseconds per call of `fn`, over `runs` runs of `calls` calls. */
async function microsPerCall(runs: number, calls: number, fn: () => unknown): Promise<number> {
  const times = await timeRuns(runs, async () => {
    for (let i = 0; i < calls; i += 1) await fn();
  });
  return (median(times) * 1000) / calls;
}

/**
 * What device authentication costs per request, as two pairs measured in one run, alternating, one request at a
 * time and 8 in flight: signed GET /v1/devices/me (signature check, one statement for the device and nonce,
 * then the route's own two) against the unauthenticated GET /health (answered from memory), as issue 13 states
 * it; and one empty route, unsigned against signed, whose difference is authentication alone. Requests are
 * signed before each timed run, so the figures are the server's and the HTTP client's (the same for both);
 * client signing is reported on its own. The server's signer check is also timed in-process, viem's (as
 * before libsecp256k1) against the current one.
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
  // One empty route twice, unsigned and signed: the difference is device authentication and nothing else.
  app.get('/bench/unsigned', async () => ({ ok: true }));
  app.get('/bench/signed', deviceSigned({ db: statements.db, server: benchServerIdentity }), async () => ({
    ok: true,
  }));
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

  const signAll = async (path: string): Promise<SignatureHeaders[]> => {
    const all: SignatureHeaders[] = [];
    for (let i = 0; i < requests; i += 1) {
      all.push(await signRequest(signer, { method: 'GET', path, body: new Uint8Array() }, benchSigningServer));
    }
    return all;
  };
  const unsigned: undefined[] = Array(requests).fill(undefined);
  // Each pair in one run, alternating: the anchor, then the signed request, sequential and 8 in flight.
  const pairs = [
    { anchor: '/health', signed: me.path, name: "GET /health vs signed GET /v1/devices/me (the issue's pair)" },
    {
      anchor: '/bench/unsigned',
      signed: '/bench/signed',
      name: 'the same empty route, unsigned vs signed (auth only)',
    },
  ];
  const modes = [1, 8];
  const figures = new Map<string, RunFigures[]>();
  const record = (key: string, run: RunFigures) => figures.set(key, [...(figures.get(key) ?? []), run]);
  let statementsPerSigned = Number.NaN;
  for (let run = -1; run < runs; run += 1) {
    // Run -1 warms every path (JIT, connection pool, prepared statements) and is not counted.
    for (const pair of pairs) {
      for (const inFlight of modes) {
        const plain = await timedRun(url, pair.anchor, unsigned, inFlight);
        const headers = await signAll(pair.signed);
        const before = statements.statements();
        const signed = await timedRun(url, pair.signed, headers, inFlight);
        if (pair.signed === me.path) statementsPerSigned = (statements.statements() - before) / requests;
        if (run < 0) continue;
        record(`${pair.anchor} ${inFlight}`, plain);
        record(`${pair.signed} ${inFlight}`, signed);
      }
    }
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

  const row = (name: string, value: string) => `  ${name.padEnd(58)}${value}`;
  const at = (path: string, inFlight: number) => figures.get(`${path} ${inFlight}`) ?? [];
  const rate = (path: string, inFlight: number) => median(at(path, inFlight).map((run) => run.rate));
  const cpu = (path: string, inFlight: number) => median(at(path, inFlight).map((run) => run.cpuMicros));
  const lines = [
    `request signing (${label}; HTTP to a server in this process; requests signed before each timed run; median of ${runs} runs of ${requests} requests per series, alternating)`,
  ];
  for (const pair of pairs) {
    lines.push(pair.name);
    for (const inFlight of modes) {
      const how = inFlight === 1 ? 'one at a time' : `${inFlight} in flight`;
      lines.push(
        row(
          `  ${pair.anchor}, ${how}`,
          `${rate(pair.anchor, inFlight).toFixed(0)} req/s, ${cpu(pair.anchor, inFlight).toFixed(0)} us CPU/req`,
        ),
        row(
          `  ${pair.signed}, ${how}`,
          `${rate(pair.signed, inFlight).toFixed(0)} req/s, ${cpu(pair.signed, inFlight).toFixed(0)} us CPU/req`,
        ),
        row(
          `  signed / unsigned throughput, ${how} (goal >= 0.6x)`,
          `${(rate(pair.signed, inFlight) / rate(pair.anchor, inFlight)).toFixed(2)}x`,
        ),
      );
    }
  }
  lines.push(
    row('statements per signed GET /v1/devices/me', `${statementsPerSigned.toFixed(2)} (1 for auth, 2 for the route)`),
    'server signer check, in-process (median of 5 runs)',
    row('viem hashTypedData + recovery (before)', `${viemCheck.toFixed(0)} us`),
    row('cached digest + libsecp256k1 recovery (now)', `${nativeCheck.toFixed(0)} us`),
    'client signing per request, not in the timed runs (median of 5 runs)',
    row('viem signTypedData (the extension)', `${viemSigning.toFixed(0)} us`),
    row('libsecp256k1 signer, same bytes (the load bench)', `${nativeSigning.toFixed(0)} us`),
  );
  return lines.join('\n');
}
