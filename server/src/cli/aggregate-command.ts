import { readFile, writeFile } from 'node:fs/promises';
import { BaseError } from '@protocol/errors';
import { dawidSkene } from '../aggregation/dawid-skene';
import { goldAccuracy } from '../aggregation/gold-accuracy';
import { majorityVote } from '../aggregation/majority-vote';
import type { AggregatedItem, CategoricalLabel } from '../aggregation/types';
import { formatCsvRow, parseCsv } from './csv';
import type { CliIo } from './run-cli';

interface AggregateOptions {
  input?: string | undefined;
  method?: string | undefined;
  gold?: string | undefined;
  output?: string | undefined;
}

interface Table {
  rows: string[][];
  lines: number[];
}

/** Reads a CSV file whose header names `columns` (in any order, extra columns ignored); rows come back in `columns` order. */
async function readTable(path: string, columns: readonly string[], what: string): Promise<Table> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new BaseError('bad_request', `Cannot read the ${what} file ${path}: ${(cause as Error).message}`, { cause });
  }
  const [header, ...records] = parseCsv(text, path);
  const expected = columns.join(',');
  if (!header) throw new BaseError('bad_request', `${path} is empty: it needs the header line "${expected}".`);
  const names = header.fields.map((name) => name.toLowerCase());
  const positions = columns.map((column) => names.indexOf(column));
  if (positions.includes(-1)) {
    throw new BaseError(
      'bad_request',
      `${path} line ${header.line}: the header must name the columns ${expected} (found "${header.fields.join(',')}").`,
    );
  }
  const rows: string[][] = [];
  const lines: number[] = [];
  for (const record of records) {
    if (record.fields.length !== header.fields.length) {
      throw new BaseError(
        'bad_request',
        `${path} line ${record.line}: expected ${header.fields.length} fields like the header, found ${record.fields.length}.`,
      );
    }
    const row = positions.map((position) => record.fields[position] as string);
    const empty = row.indexOf('');
    if (empty !== -1)
      throw new BaseError('bad_request', `${path} line ${record.line}: the ${columns[empty]} is empty.`);
    rows.push(row);
    lines.push(record.line);
  }
  return { rows, lines };
}

async function readAnswers(path: string): Promise<CategoricalLabel[]> {
  const { rows, lines } = await readTable(path, ['worker', 'task', 'label'], 'answers');
  if (rows.length === 0) throw new BaseError('bad_request', `${path} has a header but no answers.`);
  const firstLine = new Map<string, number>();
  return rows.map(([worker = '', item = '', label = ''], index) => {
    // The models count each worker once per task; say where the repeat is rather than let it skew the result.
    const key = JSON.stringify([worker, item]);
    const earlier = firstLine.get(key);
    if (earlier !== undefined) {
      throw new BaseError(
        'bad_request',
        `${path} line ${lines[index]}: worker "${worker}" already answered task "${item}" on line ${earlier}.`,
      );
    }
    firstLine.set(key, lines[index] as number);
    return { worker, item, label };
  });
}

async function readGold(path: string): Promise<Map<string, string>> {
  const { rows, lines } = await readTable(path, ['task', 'label'], 'gold');
  const gold = new Map<string, string>();
  const firstLine = new Map<string, number>();
  rows.forEach(([task = '', label = ''], index) => {
    const earlier = firstLine.get(task);
    if (earlier !== undefined) {
      throw new BaseError(
        'bad_request',
        `${path} line ${lines[index]}: task "${task}" already has a gold label on line ${earlier}.`,
      );
    }
    firstLine.set(task, lines[index] as number);
    gold.set(task, label);
  });
  return gold;
}

const formatNumber = (value: number) => String(Math.round(value * 1e6) / 1e6);

function accuracyReport(
  items: readonly AggregatedItem[],
  labels: readonly CategoricalLabel[],
  gold: Map<string, string>,
) {
  let scored = 0;
  let correct = 0;
  for (const item of items) {
    const truth = gold.get(item.item);
    if (truth === undefined) continue;
    scored += 1;
    if (truth === item.label) correct += 1;
  }
  const unanswered = gold.size - scored;
  const overall =
    scored === 0
      ? 'Accuracy on gold: none of the gold tasks has answers.\n'
      : `Accuracy on gold: ${formatNumber(correct / scored)} (${correct} of ${scored} gold tasks right${
          unanswered > 0 ? `; ${unanswered} gold tasks had no answers` : ''
        })\n`;
  const minGold = 3;
  const workers = goldAccuracy(labels, gold, { minGold }).workers;
  const table = workers
    .map((worker) =>
      formatCsvRow([
        worker.worker,
        String(worker.answered),
        String(worker.correct),
        worker.accuracy === null ? '' : formatNumber(worker.accuracy),
        worker.status,
      ]),
    )
    .join('');
  return `${overall}Per-worker accuracy on gold (judged after ${minGold} gold answers):\nworker,gold_answered,gold_correct,accuracy,status\n${table}`;
}

/**
 * `aggregate`: reads worker,task,label answers, aggregates them with the server's own library and
 * writes task,label,confidence; with --gold, also scores the result and each worker against known answers.
 */
export async function runAggregate(options: AggregateOptions, io: CliIo): Promise<number> {
  if (!options.input) throw new BaseError('bad_request', 'aggregate needs --input FILE (a worker,task,label CSV).');
  if (options.method !== 'ds' && options.method !== 'mv') {
    throw new BaseError(
      'bad_request',
      options.method === undefined
        ? 'aggregate needs --method ds (Dawid-Skene) or --method mv (majority vote).'
        : `--method must be ds or mv, not "${options.method}".`,
    );
  }
  const labels = await readAnswers(options.input);
  const gold = options.gold ? await readGold(options.gold) : undefined;
  // Gold only scores the result here: clamping it would make the score meaningless.
  const result = options.method === 'ds' ? dawidSkene(labels) : majorityVote(labels);
  const csv =
    formatCsvRow(['task', 'label', 'confidence']) +
    result.items.map((item) => formatCsvRow([item.item, item.label, formatNumber(item.confidence)])).join('');
  const report = gold ? accuracyReport(result.items, labels, gold) : '';
  if (options.output) {
    await writeFile(options.output, csv).catch((cause: unknown) => {
      throw new BaseError('bad_request', `Cannot write ${options.output}: ${(cause as Error).message}`, { cause });
    });
    const fit =
      result.method === 'ds'
        ? ` (${result.converged ? 'converged' : 'stopped'} after ${result.iterations} iterations)`
        : '';
    io.out(
      `Aggregated ${result.items.length} tasks from ${labels.length} answers with ${
        result.method === 'ds' ? 'Dawid-Skene' : 'majority vote'
      }${fit}; wrote ${options.output}\n${report}`,
    );
  } else {
    // stdout carries only the CSV so it can be piped; the report goes to stderr.
    io.out(csv);
    if (report) io.err(report);
  }
  return 0;
}
