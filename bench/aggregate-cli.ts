import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { aggregateEncoded } from '../server/src/aggregation/aggregate';
import { syntheticCrowd } from '../server/src/aggregation/synthetic-crowd';
import { readAnswerFile } from '../server/src/cli/answer-file';
import { median, numberFromEnv } from './stats';

interface CliRun {
  seconds: number;
  peakRss: number;
}

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * A published-looking answers file: string ids, every 200th answer repeated (half with a changed label),
 * written in batches so the bench itself holds one batch of lines at a time.
 */
async function writeAnswers(path: string, items: number): Promise<number> {
  const crowd = syntheticCrowd({
    seed: 2_260_000,
    items,
    workers: 2000,
    classes: 5,
    labelsPerItem: 10,
    spammers: 0.3,
    adversaries: 0.05,
  });
  const out = createWriteStream(path);
  const write = (text: string) =>
    new Promise<void>((resolve, reject) => out.write(text, (error) => (error ? reject(error) : resolve())));
  await write('worker,task,label\n');
  let rows = 0;
  let batch: string[] = [];
  for (const [n, label] of crowd.labels.entries()) {
    batch.push(`${label.worker},${label.item},${label.label}\n`);
    rows += 1;
    if (n % 200 === 0) {
      batch.push(`${label.worker},${label.item},${n % 400 === 0 ? label.label : 'c0'}\n`);
      rows += 1;
    }
    if (batch.length >= 10_000) {
      await write(batch.join(''));
      batch = [];
    }
  }
  await write(batch.join(''));
  await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
  return rows;
}

/** The CLI end to end in its own process, as an operator runs it; time and peak RSS from GNU time. */
function runCli(input: string, output: string, method: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/time',
      [
        '-f',
        '%e %M',
        process.execPath,
        '--import',
        'tsx',
        'server/src/cli/index.ts',
        'aggregate',
        '--input',
        input,
        '--method',
        method,
        '--output',
        output,
      ],
      {
        cwd: root,
        env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'server/tsconfig.json') },
        maxBuffer: 1 << 24,
      },
      (error, _stdout, stderr) => {
        if (error) return reject(new Error(`gleaner aggregate --method ${method} failed: ${stderr}`));
        // GNU time's line is the last one on stderr: elapsed seconds and maximum resident set in KiB.
        const [seconds, kib] = stderr.trim().split('\n').at(-1)?.split(' ').map(Number) ?? [];
        resolve({ seconds: seconds as number, peakRss: (kib as number) * 1024 });
      },
    );
  });
}

/** Wall time of a process that only starts node with tsx: what every CLI run pays before reading a byte. */
function startOnly(): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      '/usr/bin/time',
      ['-f', '%e', process.execPath, '--import', 'tsx', '-e', '0'],
      { cwd: root, env: { ...process.env, TSX_TSCONFIG_PATH: join(root, 'server/tsconfig.json') } },
      (error, _stdout, stderr) => (error ? reject(error) : resolve(Number(stderr.trim().split('\n').at(-1)))),
    );
  });
}

/**
 * The same run cut into its parts, measured here in one process: start-up, reading the file into columns,
 * and the library's fit on those columns, so the CLI's figure reads against the library's own.
 */
async function parts(input: string, runs: number): Promise<string[]> {
  const start: number[] = [];
  const read: number[] = [];
  const fit: Record<string, number[]> = { mv: [], ds: [] };
  for (let run = 0; run < runs; run += 1) {
    start.push(await startOnly());
    let at = performance.now();
    const answers = await readAnswerFile(input, undefined);
    read.push((performance.now() - at) / 1000);
    for (const method of ['mv', 'ds'] as const) {
      at = performance.now();
      aggregateEncoded(answers.encoded, { method });
      fit[method]?.push((performance.now() - at) / 1000);
    }
  }
  const s = (values: number[]) => `${median(values).toFixed(2)} s`;
  return [
    `  of which (medians, in this process): node + tsx start ${s(start)}, reading the file into columns ${s(read)}, library fit mv ${s(fit.mv ?? [])}, ds ${s(fit.ds ?? [])}`,
  ];
}

/**
 * `gleaner aggregate` on 2.26M answers (226,000 tasks × 10 plus repeats, 2,000 workers, 5 classes):
 * wall time and peak RSS of the whole CLI process, file to labels, against the figures the previous CLI
 * (whole-file string, a parsed row array, label objects) was measured at on the same size.
 */
export async function benchAggregateCli(): Promise<string> {
  const items = numberFromEnv('BENCH_CLI_ITEMS', 225_000);
  const runs = numberFromEnv('BENCH_RUNS', 3);
  const dir = await mkdtemp(join(tmpdir(), 'gleaner-bench-cli-'));
  try {
    const input = join(dir, 'answers.csv');
    const half = join(dir, 'half.csv');
    const rows = await writeAnswers(input, items);
    const halfRows = await writeAnswers(half, Math.round(items / 2));
    const bytes = (await stat(input)).size;
    const mb = (value: number) => `${(value / 2 ** 20).toFixed(0)} MB`;
    const lines = [
      `gleaner aggregate CLI (${rows.toLocaleString('en')} answers, ${mb(bytes)} file: ${items.toLocaleString(
        'en',
      )} tasks × 10 + repeats, 2,000 workers, 5 classes; median of ${runs} runs, each a fresh process)`,
      '  previous CLI (anchor)       14.80 s   peak RSS  1800 MB   (measured before on 2.26M answers, --method ds)',
    ];
    for (const method of ['mv', 'ds']) {
      const measured: CliRun[] = [];
      for (let run = 0; run < runs; run += 1) measured.push(await runCli(input, join(dir, `${method}.csv`), method));
      const seconds = median(measured.map((run) => run.seconds));
      const peak = median(measured.map((run) => run.peakRss));
      // Memory per answer as the slope between half and full size: what each answer adds, start-up excluded.
      const halfPeak = (await runCli(half, join(dir, `${method}-half.csv`), method)).peakRss;
      const perAnswer = (peak - halfPeak) / (rows - halfRows);
      lines.push(
        `  streaming CLI --method ${method.padEnd(4)}  ${seconds.toFixed(2).padStart(6)} s   peak RSS ${mb(
          peak,
        ).padStart(
          7,
        )}   (${perAnswer.toFixed(0)} bytes per answer: the slope from ${halfRows.toLocaleString('en')} answers, ${mb(halfPeak)})`,
      );
    }
    // auto fits every candidate on held-out folds before the final fit: one run, to show what the choice costs.
    const auto = await runCli(input, join(dir, 'auto.csv'), 'auto');
    lines.push(
      `  streaming CLI --method auto  ${auto.seconds.toFixed(2).padStart(6)} s   peak RSS ${mb(auto.peakRss).padStart(7)}   (one run: every candidate on held-out folds, then the chosen one)`,
    );
    lines.push(...(await parts(input, runs)));
    lines.push(
      '  time: /usr/bin/time wall clock of `node --import tsx server/src/cli/index.ts aggregate … --output` (tsx start-up included); peak RSS: its maximum resident set',
    );
    return lines.join('\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
