import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dawidSkene } from '../server/src/aggregation/dawid-skene';
import { majorityVote } from '../server/src/aggregation/majority-vote';
import { accuracyAgainst, syntheticCrowd } from '../server/src/aggregation/synthetic-crowd';
import { median } from './stats';

type Method = 'ds' | 'mv';

interface RunReport {
  method: Method;
  ms: number;
  /** RSS after building the input and a full GC: what the labels themselves take. */
  inputRss: number;
  /** The child's ru_maxrss: the kernel's high-water mark for the whole process, input included. */
  peakRss: number;
  iterations: number;
  accuracy: number;
}

const thisFile = fileURLToPath(import.meta.url);
const crowdShape = {
  seed: 20_240_601,
  items: 100_000,
  workers: 1000,
  classes: 5,
  labelsPerItem: 10,
  spammers: 0.3,
  adversaries: 0.05,
} as const;

/** Child side: build the seeded crowd, run one method once, report to the parent. */
async function measureHere(method: Method): Promise<void> {
  const crowd = syntheticCrowd(crowdShape);
  (globalThis as { gc?: () => void }).gc?.();
  const inputRss = process.memoryUsage().rss;
  const start = performance.now();
  const result = method === 'ds' ? dawidSkene(crowd.labels) : majorityVote(crowd.labels);
  const ms = performance.now() - start;
  const report: RunReport = {
    method,
    ms,
    inputRss,
    // ru_maxrss is in kilobytes on Linux.
    peakRss: process.resourceUsage().maxRSS * 1024,
    iterations: result.method === 'ds' ? result.iterations : 0,
    accuracy: accuracyAgainst(result.items, crowd.truth),
  };
  process.send?.(report);
}

/** One method in a fresh process, so its peak RSS is its own and not the previous run's garbage. */
function measureInChild(method: Method): Promise<RunReport> {
  return new Promise((resolve, reject) => {
    const child = fork(thisFile, [method], {
      execArgv: ['--import', import.meta.resolve('tsx'), '--expose-gc'],
      env: { ...process.env, TSX_TSCONFIG_PATH: fileURLToPath(new URL('../server/tsconfig.json', import.meta.url)) },
    });
    let report: RunReport | undefined;
    child.on('message', (message) => {
      report = message as RunReport;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (report) resolve(report);
      else reject(new Error(`aggregation bench child (${method}) exited with ${code} and no report`));
    });
  });
}

/**
 * What label aggregation costs at a large project's size: Dawid-Skene on 1,000,000 labels (100,000
 * items × 10, 1,000 labelers, 5 classes) against its anchor, majority vote on the same labels, in one run.
 */
export async function benchAggregation(): Promise<string> {
  const runs = 5;
  const reports: Record<Method, RunReport[]> = { mv: [], ds: [] };
  // Interleaved, so a noisy neighbour slows both methods alike.
  for (let run = 0; run < runs; run += 1) {
    for (const method of ['mv', 'ds'] as const) reports[method].push(await measureInChild(method));
  }
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
  const summary = (method: Method) => {
    const list = reports[method];
    return {
      ms: median(list.map((report) => report.ms)),
      peak: median(list.map((report) => report.peakRss)),
      input: median(list.map((report) => report.inputRss)),
      iterations: median(list.map((report) => report.iterations)),
      accuracy: median(list.map((report) => report.accuracy)),
    };
  };
  const mv = summary('mv');
  const ds = summary('ds');
  const line = (name: string, result: typeof mv, extra: string) =>
    `  ${name.padEnd(24)} ${(result.ms / 1000).toFixed(2).padStart(6)} s   peak RSS ${mb(result.peak).padStart(7)} (input alone ${mb(result.input)})   accuracy ${(result.accuracy * 100).toFixed(1)}%${extra}`;
  return [
    `label aggregation (1,000,000 labels: 100,000 items × 10, 1,000 labelers of whom 30% spam and 5% permute, 5 classes; median of ${runs} runs, each in a fresh child process)`,
    line('majority vote (anchor)', mv, ''),
    line('Dawid-Skene', ds, `   ${ds.iterations} EM iterations`),
    `  Dawid-Skene / anchor     ${(ds.ms / mv.ms).toFixed(2)}x time, ${mb(ds.peak - mv.peak)} more peak RSS`,
    '  time: the library call from label objects to results (encoding included); peak RSS: the child’s ru_maxrss; input alone: RSS after building the labels and a full GC',
  ].join('\n');
}

// When forked by measureInChild, this file is the child's entry point.
const childMethod = process.argv[2];
if (process.argv[1] === thisFile && (childMethod === 'ds' || childMethod === 'mv')) await measureHere(childMethod);
