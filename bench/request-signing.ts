import { recoverTypedDataAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import {
  type ClaimedSession,
  deriveDeviceSessionKey,
  generateSessionKeyPair,
  readSessionHeaders,
  type SessionHeaders,
  sessionRequestHeaders,
  sessionSchema,
} from '../protocol/sessions';
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
import type { Database, Transaction } from '../server/src/db/database';
import { deviceSigned } from '../server/src/plugins/device-auth';
import { deviceSessions } from '../server/src/plugins/device-sessions';
import { libsecp256k1Signer, recoverSignerWithLibsecp256k1 } from '../server/src/plugins/request-signature';
import { defaultScrapingSettings } from '../server/src/scraping-settings';
import { openBenchDatabase } from './bench-database';
import { benchLimits, benchServerIdentity, benchSigningServer, median, numberFromEnv, timeRuns } from './stats';

const me: RequestToSign = { method: 'GET', path: '/v1/devices/me', body: new Uint8Array() };

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
      transaction: (fn) => {
        const counted = (tx: Transaction): Transaction => ({
          query: (text, params) => {
            statements += 1;
            return tx.query(text, params);
          },
          savepoint: (inner) => tx.savepoint((scope) => inner(counted(scope))),
        });
        return db.transaction((tx) => fn(counted(tx)));
      },
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

/** A device session as the extension holds it: its id, the HMAC key both sides derived, the last counter sent. */
interface BenchSession {
  id: string;
  key: CryptoKey;
  counter: number;
}

/** Opens a session as the extension does: one signed handshake carrying a fresh P-256 public key, then ECDH. */
async function openSession(url: string, signer: ReturnType<typeof libsecp256k1Signer>): Promise<BenchSession> {
  const pair = await generateSessionKeyPair();
  const path = '/v1/devices/sessions';
  const body = new TextEncoder().encode(JSON.stringify({ publicKey: pair.publicKey }));
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: {
      ...(await signRequest(signer, { method: 'POST', path, body }, benchSigningServer)),
      'content-type': 'application/json',
    },
    body,
  });
  if (response.status !== 201) throw new Error(`opening a session failed: ${response.status} ${await response.text()}`);
  const session = sessionSchema.parse(await response.json());
  const key = await deriveDeviceSessionKey(pair.privateKey, session, signer.address, benchSigningServer.origin);
  return { id: session.sessionId, key, counter: 0 };
}

/**
 * What device authentication costs per request, as two pairs measured in one run, alternating, one request at a
 * time and 8 in flight: signed GET /v1/devices/me (signature check, one statement for the device and nonce,
 * then the route's own, answered from memory) against the unauthenticated GET /health (answered from memory), as issue 13 states
 * it; and one empty route, unsigned against signed, whose difference is authentication alone. Each authenticated
 * request is sent both ways the server accepts: signed per request, and under a device session (one HMAC
 * against a key held in memory, no statement), one session opened per run before its timed runs. Headers are
 * signed or MACed before each timed run, so the figures are the server's and the HTTP client's (the same for
 * all); the client's part is reported on its own. The server's checks are also timed in-process: viem's signer
 * check (as before libsecp256k1), the current one, and a session's verify.
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

  const emptyBodyHash = hashBody(new Uint8Array());
  const signAll = async (path: string): Promise<SignatureHeaders[]> => {
    const all: SignatureHeaders[] = [];
    for (let i = 0; i < requests; i += 1) {
      all.push(await signRequest(signer, { method: 'GET', path, body: new Uint8Array() }, benchSigningServer));
    }
    return all;
  };
  const macAll = async (session: BenchSession, path: string): Promise<SessionHeaders[]> => {
    const all: SessionHeaders[] = [];
    for (let i = 0; i < requests; i += 1) {
      session.counter += 1;
      const request = { method: 'GET', path, bodyHash: emptyBodyHash, counter: session.counter };
      all.push(await sessionRequestHeaders(session.key, session.id, request));
    }
    return all;
  };
  const unsigned: undefined[] = Array(requests).fill(undefined);
  // Each pair in one run, alternating: the anchor, then the request signed, then under a session, sequential
  // and 8 in flight.
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
  // Statements per request of each authenticated series (the last run's: they do not vary between runs).
  const statementsPer = new Map<string, number>();
  for (let run = -1; run < runs; run += 1) {
    // Run -1 warms every path (JIT, connection pool, prepared statements) and is not counted.
    const session = await openSession(url, signer);
    for (const pair of pairs) {
      for (const inFlight of modes) {
        const plain = await timedRun(url, pair.anchor, unsigned, inFlight);
        let before = statements.statements();
        const signed = await timedRun(url, pair.signed, await signAll(pair.signed), inFlight);
        statementsPer.set(`signature ${pair.signed}`, (statements.statements() - before) / requests);
        const macs = await macAll(session, pair.signed);
        before = statements.statements();
        const sessioned = await timedRun(url, pair.signed, macs, inFlight);
        statementsPer.set(`session ${pair.signed}`, (statements.statements() - before) / requests);
        if (run < 0) continue;
        record(`${pair.anchor} ${inFlight}`, plain);
        record(`signature ${pair.signed} ${inFlight}`, signed);
        record(`session ${pair.signed} ${inFlight}`, sessioned);
      }
    }
  }
  await app.close();
  await dispose();

  // The server's signer check alone, in this process: viem's typed-data recovery as the server did it before,
  // against the cached digest and libsecp256k1 it uses now; and a session's verify (one HMAC and the replay
  // window) on a session opened the way the route opens it.
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
  const held = deviceSessions();
  const pair = await generateSessionKeyPair();
  const opened = held.open(account.address, pair.publicKey, benchSigningServer.origin);
  const sessionKey = await deriveDeviceSessionKey(pair.privateKey, opened, account.address, benchSigningServer.origin);
  // Each verify spends its counter, so every call gets its own request, MACed and read before the clock starts.
  const claims: ClaimedSession[] = [];
  for (let counter = 1; counter <= 5 * 200; counter += 1) {
    const headers = await sessionRequestHeaders(sessionKey, opened.sessionId, {
      method: 'GET',
      path: me.path,
      bodyHash,
      counter,
    });
    const read = readSessionHeaders(headers);
    if (!read) throw new Error('session headers were not read back');
    claims.push(read);
  }
  let nextClaim = 0;
  const sessionCheck = await microsPerCall(5, 200, () => {
    const claim = claims[nextClaim] as ClaimedSession;
    nextClaim += 1;
    if (held.verify(claim, { method: 'GET', path: me.path, bodyHash }) !== account.address) {
      throw new Error('the session verified as another device');
    }
  });
  const viemSigning = await microsPerCall(5, 50, () => signRequest(account, me, benchSigningServer));
  const nativeSigning = await microsPerCall(5, 200, () => signRequest(signer, me, benchSigningServer));
  let clientCounter = 0;
  const sessionMac = await microsPerCall(5, 200, () => {
    clientCounter += 1;
    return sessionRequestHeaders(sessionKey, opened.sessionId, {
      method: 'GET',
      path: me.path,
      bodyHash: hashBody(me.body),
      counter: clientCounter,
    });
  });

  const row = (name: string, value: string) => `  ${name.padEnd(58)}${value}`;
  const at = (series: string, inFlight: number) => figures.get(`${series} ${inFlight}`) ?? [];
  const rate = (series: string, inFlight: number) => median(at(series, inFlight).map((run) => run.rate));
  const cpu = (series: string, inFlight: number) => median(at(series, inFlight).map((run) => run.cpuMicros));
  const measured = (series: string, inFlight: number) =>
    `${rate(series, inFlight).toFixed(0)} req/s, ${cpu(series, inFlight).toFixed(0)} us CPU/req`;
  const ratio = (series: string, anchor: string, inFlight: number) =>
    `${(rate(series, inFlight) / rate(anchor, inFlight)).toFixed(2)}x`;
  const perRequest = (series: string) => (statementsPer.get(series) ?? Number.NaN).toFixed(2);
  const lines = [
    `request signing (${label}; HTTP to a server in this process; requests signed or MACed before each timed run; median of ${runs} runs of ${requests} requests per series, alternating)`,
  ];
  for (const pair of pairs) {
    lines.push(pair.name);
    for (const inFlight of modes) {
      const how = inFlight === 1 ? 'one at a time' : `${inFlight} in flight`;
      lines.push(
        row(`  ${pair.anchor}, ${how}`, measured(pair.anchor, inFlight)),
        row(`  ${pair.signed}, ${how}, signed per request`, measured(`signature ${pair.signed}`, inFlight)),
        row(`  ${pair.signed}, ${how}, session`, measured(`session ${pair.signed}`, inFlight)),
        row(
          `  throughput / unsigned, ${how} (goal >= 0.6x)`,
          `signature ${ratio(`signature ${pair.signed}`, pair.anchor, inFlight)}, session ${ratio(`session ${pair.signed}`, pair.anchor, inFlight)}`,
        ),
      );
    }
  }
  lines.push(
    row(
      'statements per GET /v1/devices/me',
      `signature ${perRequest(`signature ${me.path}`)}, session ${perRequest(`session ${me.path}`)} (the route's own: none; last-seen is written behind, one statement a second for all devices)`,
    ),
    row(
      'statements per request to the empty route (auth alone)',
      `signature ${perRequest('signature /bench/signed')}, session ${perRequest('session /bench/signed')}`,
    ),
    'server auth check, in-process (median of 5 runs)',
    row('viem hashTypedData + recovery (before)', `${viemCheck.toFixed(0)} us`),
    row('cached digest + libsecp256k1 recovery (now, per request)', `${nativeCheck.toFixed(0)} us`),
    row('session verify: HMAC-SHA256 + replay window (session)', `${sessionCheck.toFixed(1)} us`),
    'client signing per request, not in the timed runs (median of 5 runs)',
    row('viem signTypedData (the extension, per request)', `${viemSigning.toFixed(0)} us`),
    row('libsecp256k1 signer, same bytes (the load bench)', `${nativeSigning.toFixed(0)} us`),
    row('WebCrypto HMAC session headers (extension, load bench)', `${sessionMac.toFixed(0)} us`),
  );
  return lines.join('\n');
}
