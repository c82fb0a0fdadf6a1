import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { formatFigure, median, numberFromEnv } from './stats';

/**
 * Closing a reward epoch of 100k wallets: our epoch tree (`server/src/rewards/epoch-tree.ts`) against
 * `@openzeppelin/merkle-tree`'s `StandardMerkleTree` on the same wallets in the same run. Both build the
 * tree, make every wallet's proof and serialize the tree in the library's dump format; each measurement
 * runs in its own child process so its peak RSS is its own, and the two sides alternate so drift on the
 * shared machine hits both alike. Every run checks that both made the same root, the same proofs (all of
 * them) and the same file.
 *
 * Env: GLEANER_BENCH_EPOCH_WALLETS (default 100000, as issue 10 asks), GLEANER_BENCH_RUNS (default 3; the
 * library takes about a minute a run at 100k). Each line carries the 1-minute load average seen when its
 * runs started.
 */

const run = promisify(execFile);
const child = fileURLToPath(new URL('./epoch-tree-child.ts', import.meta.url));
const tsconfig = fileURLToPath(new URL('../server/tsconfig.json', import.meta.url));

interface Measurement {
  wallets: number;
  ms: number;
  buildMs: number;
  proofsMs: number;
  fileMs: number;
  fileBytes: number;
  maxRssMb: number;
  root: string;
  proofsSha256: string;
  fileSha256: string;
  /** 1-minute load average when the child started. */
  load: number;
}

async function measure(...args: string[]): Promise<Measurement> {
  const load = loadavg()[0] as number;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', child, ...args], {
    env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig },
    maxBuffer: 1024 * 1024,
  });
  return { ...(JSON.parse(stdout.trim().split('\n').at(-1) as string) as Measurement), load };
}

/** `npm run bench epoch-tree`: time and peak RSS of an epoch close, ours vs OpenZeppelin's library. */
export async function benchEpochTree(): Promise<string> {
  const wallets = numberFromEnv('GLEANER_BENCH_EPOCH_WALLETS', 100_000);
  const runs = numberFromEnv('GLEANER_BENCH_RUNS', 3);
  const idle = await measure('idle');
  const ours: Measurement[] = [];
  const library: Measurement[] = [];
  for (let attempt = 0; attempt < runs; attempt += 1) {
    ours.push(await measure('ours', String(wallets)));
    library.push(await measure('openzeppelin', String(wallets)));
  }
  const reference = library[0] as Measurement;
  for (const m of [...ours, ...library]) {
    if (m.wallets !== wallets) throw new Error(`an epoch close had ${m.wallets} wallets, not ${wallets}`);
    for (const field of ['root', 'proofsSha256', 'fileSha256'] as const) {
      if (m[field] !== reference[field])
        throw new Error(`the two trees differ: ${field} ${m[field]} != ${reference[field]}`);
    }
  }
  const summary = (list: Measurement[]) => ({
    ms: median(list.map((m) => m.ms)),
    buildMs: median(list.map((m) => m.buildMs)),
    proofsMs: median(list.map((m) => m.proofsMs)),
    fileMs: median(list.map((m) => m.fileMs)),
    maxRssMb: median(list.map((m) => m.maxRssMb)),
  });
  const o = summary(ours);
  const z = summary(library);
  const row = (name: string, s: ReturnType<typeof summary>, list: Measurement[]) =>
    `${name.padEnd(28)}${formatFigure(s.ms / 1000, 2).padStart(7)}  ${formatFigure(s.buildMs / 1000, 2).padStart(6)}  ${formatFigure(
      s.proofsMs / 1000,
      2,
    ).padStart(
      6,
    )}  ${formatFigure(s.fileMs / 1000, 2).padStart(6)}  ${formatFigure(s.maxRssMb).padStart(12)}   load ${list
      .map((m) => formatFigure(m.load, 1))
      .join('/')}`;
  const aboveIdle = (mb: number) => Math.max(mb - idle.maxRssMb, 1);
  return [
    `epoch-tree: closing an epoch of ${formatFigure(wallets)} wallets (tree, every proof, the tree file as JSON), median of ${runs} runs, each in its own process`,
    `                            total s  build  proofs    file  peak RSS MB`,
    row('ours (server/src/rewards)', o, ours),
    row('@openzeppelin/merkle-tree', z, library),
    `  each run (s/MB): ours ${ours.map((m) => `${formatFigure(m.ms / 1000, 2)}/${formatFigure(m.maxRssMb)}`).join(', ')}; library ${library
      .map((m) => `${formatFigure(m.ms / 1000, 1)}/${formatFigure(m.maxRssMb)}`)
      .join(', ')}`,
    `  same root ${reference.root}, same ${formatFigure(wallets)} proofs and same ${formatFigure(reference.fileBytes / 1024 / 1024, 1)} MB file on both sides, every run`,
    `ours vs library: ${formatFigure(z.ms / o.ms, 1)}x faster (goal >= 10), ours ${formatFigure(o.ms / 1000, 2)} s (goal < 5); peak RSS ${formatFigure(o.maxRssMb / z.maxRssMb, 2)}x (${formatFigure(aboveIdle(o.maxRssMb) / aboveIdle(z.maxRssMb), 2)}x above an idle child's ${formatFigure(idle.maxRssMb)} MB)`,
  ].join('\n');
}
