import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { CountedPoints } from '../server/src/rewards/epoch-rules';
import { formatFigure, median, numberFromEnv } from './stats';

/**
 * Closing a reward epoch of 100k wallets, as the server does it, and reading a proof back from the API.
 *
 * 1. The close's computing part, each run in its own child process so its peak RSS is its own: ours is the
 *    rules over every wallet's counted points, the tree, every wallet's proof, the public epoch file's
 *    canonical bytes and content id, and the tree's node file; OpenZeppelin's library gets the same
 *    (address, cumulative) entries and builds `StandardMerkleTree.of`, every `getProof` and `dump()` as JSON.
 *    Both must give the same root and the same proofs. The library takes about a minute at 100k, so it runs
 *    once unless GLEANER_BENCH_OZ_RUNS says more.
 * 2. The whole close through the API (`POST /v1/admin/epochs/close`: counting the ledger rows, the above,
 *    writing the files and 100k epoch_wallets rows) on PGlite, then proof lookups through
 *    `GET /v1/epochs/1/proofs/:address` for random wallets (each reads ~17 nodes from the stored tree).
 *
 * Env: GLEANER_BENCH_EPOCH_WALLETS (default 100000), GLEANER_BENCH_RUNS (ours, default 3),
 * GLEANER_BENCH_OZ_RUNS (default 1), GLEANER_BENCH_PROOF_LOOKUPS (default 1000).
 */

const run = promisify(execFile);
const self = fileURLToPath(import.meta.url);
const tsconfig = fileURLToPath(new URL('../server/tsconfig.json', import.meta.url));
const operatorToken = 'bench-operator-token-0123456789';

interface Measurement {
  wallets: number;
  ms: number;
  phases: Record<string, number>;
  maxRssMb: number;
  root: string;
  proofsSha256: string;
  fileBytes: number;
  load: number;
}

/** A deterministic PRNG (mulberry32): the same wallets in every process. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct lower-case wallets, each with the points a close counted for it (a few with reversals). */
function syntheticCounted(count: number): Map<string, CountedPoints> {
  const next = random(2027);
  const counted = new Map<string, CountedPoints>();
  while (counted.size < count) {
    const wallet = `0x${Buffer.from(Uint8Array.from({ length: 20 }, () => Math.floor(next() * 256))).toString('hex')}`;
    if (counted.has(wallet)) continue;
    counted.set(wallet, {
      earned: 1 + Math.floor(next() * 5000),
      reversed: next() < 0.01 ? Math.floor(next() * 100) : 0,
    });
  }
  return counted;
}

/** One side of the comparison, in this (child) process; prints one JSON line. */
async function child(mode: string, count: number): Promise<void> {
  const { applyEpochRules } = await import('../server/src/rewards/epoch-rules');
  const { epochTreeEntries } = await import('../server/src/rewards/epoch-file');
  const counted = syntheticCounted(count);
  const phases: Record<string, number> = {};
  let proofs: string[][];
  let root: string;
  let fileBytes: number;
  let start = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    phases[name] = now - start;
    start = now;
  };
  const began = performance.now();
  if (mode === 'ours') {
    const { buildEpochFile, epochFileBytes } = await import('../server/src/rewards/epoch-file');
    const { buildEpochTree } = await import('../server/src/rewards/epoch-tree');
    const { contentIdOf } = await import('../server/src/rewards/content-id');
    start = performance.now();
    const rules = applyEpochRules({ poolPerEpoch: 10n ** 21n, carriedIn: 0n, previous: new Map(), counted });
    lap('rules');
    const tree = buildEpochTree(epochTreeEntries(rules.lines));
    root = tree.root;
    lap('tree');
    proofs = rules.lines.map((_, index) => tree.proof(index));
    lap('proofs');
    const bytes = epochFileBytes(
      buildEpochFile({ epoch: 1, closedAt: new Date(), result: rules, root: tree.root, previous: null }),
    );
    await contentIdOf(bytes);
    fileBytes = bytes.length + tree.nodeBuffer.length;
    lap('file');
  } else {
    const { StandardMerkleTree } = await import('@openzeppelin/merkle-tree');
    const { lines } = applyEpochRules({ poolPerEpoch: 10n ** 21n, carriedIn: 0n, previous: new Map(), counted });
    const values = epochTreeEntries(lines).map((entry) => [entry.account, entry.amount.toString()]);
    start = performance.now();
    const tree = StandardMerkleTree.of(values, ['address', 'uint256']);
    root = tree.root;
    lap('tree');
    proofs = values.map((_, index) => tree.getProof(index));
    lap('proofs');
    fileBytes = Buffer.byteLength(JSON.stringify(tree.dump()));
    lap('file');
  }
  const ms = performance.now() - began;
  const hash = createHash('sha256');
  for (const proof of proofs) hash.update(`${proof.join(',')}\n`);
  const result = {
    wallets: count,
    ms,
    phases,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    root,
    proofsSha256: hash.digest('hex'),
    fileBytes,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function measure(...args: string[]): Promise<Measurement> {
  const load = loadavg()[0] as number;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', self, 'child', ...args], {
    env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig },
    maxBuffer: 1024 * 1024,
  });
  return { ...(JSON.parse(stdout.trim().split('\n').at(-1) as string) as Measurement), load };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
};

/** The whole close and proof lookups through the API on PGlite. */
async function throughApi(count: number, lookups: number) {
  // Imported here, not at the top: the child processes measure their own libraries only.
  const { buildApp } = await import('../server/src/app');
  const { migrate } = await import('../server/src/db/migrate');
  const { openPgliteDatabase } = await import('../server/src/db/pglite-database');
  const { defaultScrapingSettings } = await import('../server/src/scraping-settings');
  const { benchLimits, benchServerIdentity } = await import('./stats');
  const db = await openPgliteDatabase();
  await migrate(db);
  // Devices, their links and one verified row each, made in SQL: the bench measures the close, not ingest.
  await db.query(
    `insert into devices (address, extension_version, browser)
     select '0x' || lpad(to_hex(g), 40, '0'), 'bench', 'chrome' from generate_series(1, $1::int) g`,
    [count],
  );
  await db.query(
    `insert into wallet_links (device, wallet)
     select '0x' || lpad(to_hex(g), 40, '0'), '0x' || md5(g::text) || substr(md5('w' || g), 1, 8)
     from generate_series(1, $1::int) g`,
    [count],
  );
  await db.query(
    `insert into points_ledger (device, reference, reason, points, state, settled_at)
     select '0x' || lpad(to_hex(g), 40, '0'), 'bench:' || g, 'scrape', 1 + g % 997, 'verified', now()
     from generate_series(1, $1::int) g`,
    [count],
  );
  const app = await buildApp({
    db,
    operatorToken,
    version: 'bench',
    scraping: { ...defaultScrapingSettings, limits: benchLimits },
    server: benchServerIdentity,
    robotsIntervalMs: 0,
    verificationIntervalMs: 0,
  });
  try {
    const rssBefore = process.memoryUsage().rss;
    const start = performance.now();
    const closed = await app.inject({
      method: 'POST',
      url: '/v1/admin/epochs/close',
      headers: { authorization: `Bearer ${operatorToken}` },
      payload: {},
    });
    const closeMs = performance.now() - start;
    const rssAfter = process.memoryUsage().rss;
    if (closed.statusCode !== 200 || closed.json().epoch?.wallets !== count) {
      throw new Error(`the close failed: ${closed.statusCode} ${closed.body.slice(0, 300)}`);
    }
    const wallets = (
      await db.query<{ wallet: string }>(
        'select wallet from epoch_wallets where epoch = 1 order by random() limit $1',
        [lookups],
      )
    ).map((row) => row.wallet);
    const latencies: number[] = [];
    for (const wallet of wallets) {
      const begin = performance.now();
      const response = await app.inject({ method: 'GET', url: `/v1/epochs/1/proofs/${wallet}` });
      latencies.push(performance.now() - begin);
      if (response.statusCode !== 200) throw new Error(`proof of ${wallet}: ${response.statusCode} ${response.body}`);
    }
    return { closeMs, rssGrowthMb: (rssAfter - rssBefore) / 1024 / 1024, latencies };
  } finally {
    await app.close();
    await db.close();
  }
}

/** `npm run bench epoch-close`: the epoch close against OpenZeppelin's library, and proof lookups through the API. */
export async function benchEpochClose(): Promise<string> {
  const wallets = numberFromEnv('GLEANER_BENCH_EPOCH_WALLETS', 100_000);
  const runs = numberFromEnv('GLEANER_BENCH_RUNS', 3);
  const ozRuns = numberFromEnv('GLEANER_BENCH_OZ_RUNS', 1);
  const lookups = numberFromEnv('GLEANER_BENCH_PROOF_LOOKUPS', 1000);
  const ours: Measurement[] = [];
  const library: Measurement[] = [];
  for (let attempt = 0; attempt < Math.max(runs, ozRuns); attempt += 1) {
    if (attempt < runs) ours.push(await measure('ours', String(wallets)));
    if (attempt < ozRuns) library.push(await measure('openzeppelin', String(wallets)));
  }
  const reference = library[0] as Measurement;
  for (const m of ours) {
    if (m.root !== reference.root || m.proofsSha256 !== reference.proofsSha256) {
      throw new Error('our epoch tree and the library disagree on the root or the proofs');
    }
  }
  const api = await throughApi(wallets, lookups);
  const ms = (list: Measurement[]) => median(list.map((m) => m.ms));
  const rss = (list: Measurement[]) => median(list.map((m) => m.maxRssMb));
  const phases = (list: Measurement[]) =>
    Object.keys(list[0]?.phases ?? {})
      .map((phase) => `${phase} ${formatFigure(median(list.map((m) => m.phases[phase] ?? 0)) / 1000, 2)} s`)
      .join(', ');
  const s = (value: number) => formatFigure(value / 1000, 2);
  return [
    `epoch-close: an epoch of ${formatFigure(wallets)} wallets (each side in its own process, same entries, same root and proofs checked)`,
    `  ours (rules, tree, every proof, epoch file + content id + tree.bin): ${s(ms(ours))} s median of ${ours.length} (${phases(ours)}), peak RSS ${formatFigure(rss(ours))} MB, load ${ours.map((m) => formatFigure(m.load, 1)).join('/')}`,
    `  @openzeppelin/merkle-tree (of, every getProof, dump JSON):         ${s(ms(library))} s median of ${library.length} (${phases(library)}), peak RSS ${formatFigure(rss(library))} MB`,
    `  ours vs library: ${formatFigure(ms(library) / ms(ours), 1)}x faster (goal >= 10), ours ${s(ms(ours))} s (goal < 5), peak RSS ${formatFigure(rss(ours) / rss(library), 2)}x`,
    `  whole close through POST /v1/admin/epochs/close on PGlite (count ledger rows, rules, tree, files, ${formatFigure(wallets)} epoch_wallets rows): ${s(api.closeMs)} s, RSS +${formatFigure(api.rssGrowthMb)} MB`,
    `  proof lookup GET /v1/epochs/1/proofs/:address (${formatFigure(api.latencies.length)} random wallets, app.inject): p50 ${formatFigure(median(api.latencies), 2)} ms, p99 ${formatFigure(percentile(api.latencies, 99), 2)} ms, max ${formatFigure(Math.max(...api.latencies), 2)} ms`,
  ].join('\n');
}

if (process.argv[2] === 'child' && process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await child(process.argv[3] as string, Number(process.argv[4]));
}
