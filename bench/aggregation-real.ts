import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type AggregateResult, aggregateEncoded } from '../server/src/aggregation/aggregate';
import { calibrationReport } from '../server/src/aggregation/calibration';
import type { EncodedLabels } from '../server/src/aggregation/encode-labels';
import { seededRandom } from '../server/src/aggregation/synthetic-crowd';

/**
 * Crowd-Kit's published accuracy (Ustalov et al., JOSS 2024, table "categorical") on four public datasets,
 * kept beside the data in ../shared/data/crowds/README.md. The data are research data: read from there, never copied.
 */
const published = {
  product: { MV: 0.897, Wawa: 0.897, DS: 0.94, GLAD: 0.928, MACE: 0.929 },
  possent: { MV: 0.932, Wawa: 0.951, DS: 0.96, GLAD: 0.948, MACE: 0.95 },
  relevance: { MV: 0.536, Wawa: 0.557, DS: 0.615, GLAD: 0.511, MACE: 0.501 },
  adult: { MV: 0.763, Wawa: 0.766, DS: 0.748, GLAD: 0.76, MACE: 0.763 },
} as const;

type Dataset = keyof typeof published;

const dataRoot = process.env.GLEANER_CROWDS ?? fileURLToPath(new URL('../../shared/data/crowds/', import.meta.url));

function csvRows(path: string): string[][] {
  const [, ...lines] = readFileSync(path, 'utf8').split(/\r?\n/);
  return lines.filter((line) => line.length > 0).map((line) => line.split(','));
}

/**
 * The published convention: exact duplicate rows dropped; a worker who answered one task twice with
 * different labels counts with their latest answer. Encoded straight into integer columns.
 */
export function loadCrowd(name: string) {
  const answers = csvRows(`${dataRoot}${name}/answers.csv`);
  const latest = new Map<string, string[]>();
  for (const row of answers) {
    const key = `${row[0]}\u0000${row[1]}`;
    // Deleting first moves the key to the end: the kept row sits where the latest answer was.
    latest.delete(key);
    latest.set(key, row);
  }
  const workers: string[] = [];
  const items: string[] = [];
  const classes = [...new Set(answers.map((row) => row[2] as string))].sort((a, b) => Number(a) - Number(b));
  const workerIndex = new Map<string, number>();
  const itemIndex = new Map<string, number>();
  const index = (names: string[], map: Map<string, number>, name: string) => {
    let at = map.get(name);
    if (at === undefined) {
      at = names.length;
      names.push(name);
      map.set(name, at);
    }
    return at;
  };
  const classIndex = new Map(classes.map((name, k) => [name, k]));
  const rows = [...latest.values()];
  const worker = new Int32Array(rows.length);
  const item = new Int32Array(rows.length);
  const label = new Int32Array(rows.length);
  rows.forEach(([w = '', i = '', l = ''], n) => {
    worker[n] = index(workers, workerIndex, w);
    item[n] = index(items, itemIndex, i);
    label[n] = classIndex.get(l) as number;
  });
  const truth = new Map(csvRows(`${dataRoot}${name}/truth.csv`).map(([task = '', answer = '']) => [task, answer]));
  const encoded: EncodedLabels = {
    workers,
    items,
    classes,
    worker,
    item,
    label,
    // No gold given to the method: the gold below is what it is scored on.
    gold: new Int32Array(items.length).fill(-1),
  };
  return { encoded, truth, rawAnswers: answers.length, repeats: answers.length - rows.length };
}

/** The posterior before the temperature: tempering by τ is undone by 1/τ (ranks, labels and ties unchanged). */
function untempered(result: AggregateResult, classCount: number): AggregateResult {
  if (result.temperature === 1) return result;
  const posterior = new Float64Array(result.posterior.length);
  const confidence = new Float64Array(result.confidence.length);
  for (let row = 0, i = 0; row < posterior.length; row += classCount, i += 1) {
    let sum = 0;
    for (let k = 0; k < classCount; k += 1) {
      const value = (result.posterior[row + k] as number) ** (1 / result.temperature);
      posterior[row + k] = value;
      sum += value;
    }
    for (let k = 0; k < classCount; k += 1) posterior[row + k] = (posterior[row + k] as number) / sum;
    confidence[i] = (posterior[row + (result.label[i] as number)] as number) ?? 0;
  }
  return { ...result, posterior, confidence };
}

/** Expected accuracy on the gold tasks: a tie among t classes that includes the truth earns 1/t. */
export function expectedAccuracy(encoded: EncodedLabels, result: AggregateResult, truth: ReadonlyMap<string, string>) {
  const classCount = encoded.classes.length;
  let credit = 0;
  let scored = 0;
  const predictions: Array<{ confidence: number; correct: boolean }> = [];
  const before: Array<{ confidence: number; correct: boolean }> = [];
  const raw = untempered(result, classCount);
  encoded.items.forEach((name, i) => {
    const answer = truth.get(name);
    if (answer === undefined) return;
    const k = encoded.classes.indexOf(answer);
    scored += 1;
    const top = result.confidence[i] as number;
    const tiedWithTruth = k >= 0 && (result.posterior[i * classCount + k] as number) >= top - 1e-9;
    if (tiedWithTruth) credit += 1 / (result.tied[i] as number);
    predictions.push({ confidence: top, correct: result.label[i] === k });
    before.push({ confidence: raw.confidence[i] as number, correct: result.label[i] === k });
  });
  return {
    accuracy: credit / scored,
    credit,
    scored,
    ece: calibrationReport(predictions).expectedCalibrationError,
    eceBefore: calibrationReport(before).expectedCalibrationError,
    predictions,
  };
}

/**
 * Where the chosen model and plain Dawid-Skene (Crowd-Kit's DS) part ways on gold: how many items each gets
 * right that the other does not, and the largest group of those items with the very same answers (same
 * workers, same labels), which one decision settles for all of them at once.
 */
function disagreementWithPlainDs(encoded: EncodedLabels, chosen: AggregateResult, truth: ReadonlyMap<string, string>) {
  const plain = aggregateEncoded(encoded, { method: 'ds', parameters: { smoothing: 0.01, diagonal: 0, pooled: 0 } });
  const answers = new Map<number, string[]>();
  encoded.item.forEach((i, n) => {
    const list = answers.get(i) ?? [];
    list.push(`${encoded.workers[encoded.worker[n] as number]}:${encoded.classes[encoded.label[n] as number]}`);
    answers.set(i, list);
  });
  let chosenRight = 0;
  let plainRight = 0;
  const groups = new Map<string, { items: number; plainRight: number }>();
  encoded.items.forEach((name, i) => {
    const answer = truth.get(name);
    if (answer === undefined || chosen.label[i] === plain.label[i]) return;
    const k = encoded.classes.indexOf(answer);
    if (chosen.label[i] === k) chosenRight += 1;
    if (plain.label[i] === k) plainRight += 1;
    const key = (answers.get(i) ?? []).sort().join(' ');
    const group = groups.get(key) ?? { items: 0, plainRight: 0 };
    group.items += 1;
    if (plain.label[i] === k) group.plainRight += 1;
    groups.set(key, group);
  });
  const [pattern, largest] = [...groups].reduce(
    (a, b) => (b[1].items > a[1].items ? b : a),
    ['', { items: 0, plainRight: 0 }],
  );
  return `vs plain DS: ${chosenRight} gold items right only by the choice, ${plainRight} only by plain DS; largest group with identical answers: ${largest.items} items (${largest.plainRight} right by plain DS), answers ${pattern || '–'}`;
}

function choiceName(result: AggregateResult): string {
  const parameters = Object.entries(result.parameters).map(([key, value]) => `${key}=${value}`);
  return `${result.method}${parameters.length > 0 ? `(${parameters.join(',')})` : ''}`;
}

/**
 * Half the gold given to the method (so auto chooses and tempers by held-out gold, and gold items are
 * clamped), scored only on the other half; then the halves swap. Every gold task is scored once, by a run
 * that never saw it.
 */
function crossFittedGold(encoded: EncodedLabels, truth: ReadonlyMap<string, string>) {
  const random = seededRandom(4_242);
  const half = new Map<string, number>();
  for (const task of truth.keys()) half.set(task, random() < 0.5 ? 0 : 1);
  let credit = 0;
  let scored = 0;
  const predictions: Array<{ confidence: number; correct: boolean }> = [];
  const chosen: string[] = [];
  for (const scoredHalf of [0, 1]) {
    const gold = new Int32Array(encoded.items.length).fill(-1);
    const held = new Map<string, string>();
    encoded.items.forEach((name, i) => {
      const answer = truth.get(name);
      if (answer === undefined) return;
      if (half.get(name) === scoredHalf) held.set(name, answer);
      else gold[i] = encoded.classes.indexOf(answer);
    });
    const result = aggregateEncoded({ ...encoded, gold });
    const run = expectedAccuracy(encoded, result, held);
    credit += run.credit;
    scored += run.scored;
    predictions.push(...run.predictions);
    chosen.push(`${choiceName(result)} by ${result.selectedBy}`);
  }
  return { accuracy: credit / scored, ece: calibrationReport(predictions).expectedCalibrationError, chosen };
}

/**
 * The `auto` choice (no gold given: it picks by held-out answers) on four public crowds with gold, against
 * Crowd-Kit's published accuracy for each method; expected accuracy with ties at 1/(number tied). ECE before
 * is the chosen model's posterior as fitted, after is with the temperature auto fitted on held-out answers.
 * A second table gives half the gold to the method and scores the other half (cross-fitted).
 */
export async function benchAggregationReal(): Promise<string> {
  const lines = [
    'label aggregation on public crowds (auto choice by held-out answers, no gold given, scored on the published gold; Crowd-Kit JOSS 2024 figures beside it)',
    `  ${'dataset'.padEnd(10)} ${'answers'.padStart(8)} ${'repeats'.padStart(7)}  ${'chosen'.padEnd(58)} ${'accuracy'.padStart(8)}  ${'best published'.padEnd(16)}  MV    Wawa  DS    GLAD  MACE   ECE before→after   time`,
  ];
  const verbose = process.env.GLEANER_BENCH_VERBOSE === '1';
  const withGold: string[] = [];
  for (const name of Object.keys(published) as Dataset[]) {
    const { encoded, truth, rawAnswers, repeats } = loadCrowd(name);
    const start = performance.now();
    const result = aggregateEncoded(encoded);
    const seconds = (performance.now() - start) / 1000;
    const { accuracy, ece, eceBefore } = expectedAccuracy(encoded, result, truth);
    const table = published[name];
    const [bestName, best] = Object.entries(table).reduce((a, b) => (b[1] > a[1] ? b : a));
    const figures = Object.values(table).map((value) => value.toFixed(3).slice(1).padEnd(5));
    lines.push(
      `  ${name.padEnd(10)} ${String(rawAnswers).padStart(8)} ${String(repeats).padStart(7)}  ${choiceName(result).padEnd(58)} ${accuracy.toFixed(3).padStart(8)}  ${`${bestName} ${best.toFixed(3)}`.padEnd(16)}  ${figures.join(' ')}  ${eceBefore.toFixed(3)} → ${ece.toFixed(3)}    ${seconds.toFixed(1)} s`,
    );
    if (verbose) {
      lines.push(`      ${disagreementWithPlainDs(encoded, result, truth)}`);
      for (const candidate of result.candidates) {
        const fixed = aggregateEncoded(encoded, { method: candidate.method, parameters: candidate.parameters });
        const scored = expectedAccuracy(encoded, fixed, truth);
        lines.push(
          `      ${choiceName(fixed).padEnd(58)} held-out ${candidate.score.toFixed(5)}  accuracy ${scored.accuracy.toFixed(4)}  ECE ${scored.ece.toFixed(3)}`,
        );
      }
    }
    const crossed = crossFittedGold(encoded, truth);
    withGold.push(
      `  ${name.padEnd(10)} ${crossed.accuracy.toFixed(3).padStart(8)}  ${`${bestName} ${best.toFixed(3)}`.padEnd(16)}  ${crossed.ece.toFixed(3)}  ${crossed.chosen.join('; ')}`,
    );
  }
  lines.push('  repeats: rows dropped as exact duplicates or superseded by the same worker’s later answer to the task');
  lines.push(
    'with half the gold given (auto chooses and tempers by held-out gold, gold clamped), scored only on the other half, halves swapped',
    `  ${'dataset'.padEnd(10)} ${'accuracy'.padStart(8)}  ${'best published'.padEnd(16)}  ECE    chosen (each half)`,
    ...withGold,
  );
  lines.push(
    '  library at scale (auto choice + final fit on integer columns; 10 answers per item, 5 classes, 30% spammers; one fresh process each)',
  );
  for (const labels of [1_000_000, 10_000_000]) {
    const report = await measureInChild(labels);
    lines.push(
      `  ${`${labels / 1e6}M labels`.padEnd(10)} ${(report.ms / 1000).toFixed(1).padStart(6)} s   peak RSS ${(report.peakRss / 2 ** 20).toFixed(0)} MB (columns alone ${(report.inputRss / 2 ** 20).toFixed(0)} MB)   chose ${report.chosen}`,
    );
  }
  return lines.join('\n');
}

interface ScaleReport {
  ms: number;
  inputRss: number;
  peakRss: number;
  chosen: string;
}

/** Integer columns of a seeded crowd, built directly: 10M label objects would measure the objects, not the library. */
function syntheticColumns(labelCount: number): EncodedLabels {
  const random = seededRandom(20_240_601);
  const classCount = 5;
  const perItem = 10;
  const itemCount = labelCount / perItem;
  const workerCount = Math.max(100, Math.round(labelCount / 1000));
  const accuracy = Float64Array.from({ length: workerCount }, (_, w) =>
    w < workerCount * 0.3 ? 1 / classCount : 0.6 + 0.3 * random(),
  );
  const worker = new Int32Array(labelCount);
  const item = new Int32Array(labelCount);
  const label = new Int32Array(labelCount);
  for (let i = 0, n = 0; i < itemCount; i += 1) {
    const truth = Math.floor(random() * classCount);
    for (let j = 0; j < perItem; j += 1, n += 1) {
      const w = Math.floor(random() * workerCount);
      worker[n] = w;
      item[n] = i;
      label[n] = random() < (accuracy[w] as number) ? truth : Math.floor(random() * classCount);
    }
  }
  return {
    workers: Array.from({ length: workerCount }, (_, w) => `w${w}`),
    items: Array.from({ length: itemCount }, (_, i) => `i${i}`),
    classes: Array.from({ length: classCount }, (_, k) => `c${k}`),
    worker,
    item,
    label,
    gold: new Int32Array(itemCount).fill(-1),
  };
}

const thisFile = fileURLToPath(import.meta.url);

function measureInChild(labels: number): Promise<ScaleReport> {
  return new Promise((resolve, reject) => {
    const child = fork(thisFile, ['scale', String(labels)], {
      execArgv: ['--import', import.meta.resolve('tsx'), '--expose-gc'],
      env: { ...process.env, TSX_TSCONFIG_PATH: fileURLToPath(new URL('../server/tsconfig.json', import.meta.url)) },
    });
    let report: ScaleReport | undefined;
    child.on('message', (message) => {
      report = message as ScaleReport;
    });
    child.on('error', reject);
    child.on('exit', (code) => (report ? resolve(report) : reject(new Error(`scale child exited with ${code}`))));
  });
}

// When forked by measureInChild, this file is the child's entry point.
if (process.argv[1] === thisFile && process.argv[2] === 'scale') {
  const encoded = syntheticColumns(Number(process.argv[3]));
  (globalThis as { gc?: () => void }).gc?.();
  const inputRss = process.memoryUsage().rss;
  const start = performance.now();
  // A worker may draw one item twice here; the columns go straight to the model, which counts both.
  const result = aggregateEncoded(encoded);
  const ms = performance.now() - start;
  process.send?.({
    ms,
    inputRss,
    peakRss: process.resourceUsage().maxRSS * 1024,
    chosen: choiceName(result),
  } satisfies ScaleReport);
}
