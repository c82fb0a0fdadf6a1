import { stat, writeFile } from 'node:fs/promises';
import { BaseError } from '@protocol/errors';
import { type AggregateResult, aggregateEncoded, defaultParameters } from '../aggregation/aggregate';
import type { EncodedLabels } from '../aggregation/encode-labels';
import { goldAccuracy } from '../aggregation/gold-accuracy';
import type { CategoricalLabel } from '../aggregation/types';
import { type AnswerFile, readAnswerFile, readGoldFile } from './answer-file';
import { formatCsvRow } from './csv';
import type { CliIo } from './run-cli';

/** The `aggregate` lines of the CLI's help. */
export const aggregateUsage = `  aggregate --input FILE [--method M] [--gold FILE] [--output FILE] [--encoding E] [--gold-encoding E]
                                       aggregate worker,task,label answers (offline, no server) into
                                       task,label,confidence,tied: tied is how many classes share the top
                                       score (1: none; a k-way tie earns 1/k in expected accuracy).
                                       --method auto (default: chosen by held-out likelihood), mv, wawa,
                                       ds, onecoin or mace. The method, its priors and the file's counts
                                       go to stderr (stdout without --output is only the CSV).
                                       A worker answering a task again counts once, by the latest answer.
                                       A file with bad rows is refused with every bad line listed, not
                                       aggregated without them: labels from part of a file would not be
                                       an audit of that file. Input must be UTF-8 (a UTF-8/UTF-16 byte-
                                       order mark is honoured); other files are refused with the encoding
                                       they look like: --encoding utf8|utf16le|utf16be|latin1 decodes them.
                                       --gold task,label scores the result and each worker (it is not used
                                       to fit, so the score is a test); its encoding is found on its own,
                                       or given with --gold-encoding. --output never replaces an input
                                       file`;

interface AggregateOptions {
  input?: string | undefined;
  method?: string | undefined;
  gold?: string | undefined;
  output?: string | undefined;
  encoding?: string | undefined;
  'gold-encoding'?: string | undefined;
}

const methods = ['auto', ...Object.keys(defaultParameters)] as const;
type MethodOption = 'auto' | keyof typeof defaultParameters;

const methodNames: Record<string, string> = {
  mv: 'majority vote',
  wawa: 'Wawa (agreement-weighted vote)',
  ds: 'Dawid-Skene',
  onecoin: 'one-coin Dawid-Skene',
  mace: 'MACE',
};

const formatNumber = (value: number) => String(Math.round(value * 1e6) / 1e6);

/** One field, quoted when it holds a comma, a quote, a line break or edge spaces. */
const csvField = (field: string) => formatCsvRow([field]).slice(0, -1);

/** task,label,confidence,tied for every task, in the order tasks first appear in the file. */
function labelsCsv(encoded: EncodedLabels, result: AggregateResult): string {
  const classes = encoded.classes.map(csvField);
  const parts = ['task,label,confidence,tied\n'];
  for (let i = 0; i < encoded.items.length; i += 1) {
    parts.push(
      `${csvField(encoded.items[i] as string)},${classes[result.label[i] as number]},${formatNumber(
        result.confidence[i] as number,
      )},${result.tied[i]}\n`,
    );
  }
  return parts.join('');
}

function summary(answers: AnswerFile, result: AggregateResult, output: string | undefined): string {
  const { encoded } = answers;
  const parameters = Object.entries(result.parameters).map(([name, value]) => `${name} ${value}`);
  const chosen =
    result.selectedBy === 'named'
      ? 'as named'
      : `chosen among ${result.candidates.length} candidates by the likelihood of held-out ${result.selectedBy === 'gold' ? 'gold answers' : 'answers'}`;
  const repeats = answers.exactRepeats + answers.changedAnswers;
  const lines = [
    `Aggregated ${encoded.items.length} tasks from ${answers.rows} answers (${encoded.workers.length} workers, ${
      encoded.classes.length
    } classes) with ${methodNames[result.method] ?? result.method} (${result.method}${
      parameters.length > 0 ? `: ${parameters.join(', ')}` : ''
    }), ${chosen}; ${result.converged ? 'converged' : 'stopped'} after ${result.iterations} iterations${
      output ? `; wrote ${output}` : ''
    }.`,
    `Read as ${answers.encoding}. ${
      repeats === 0
        ? 'No worker answered a task twice.'
        : `${repeats} repeated answers (a worker answering a task again) were replaced by that worker's latest: ${answers.exactRepeats} repeated a label the worker had given that task before, ${answers.changedAnswers} gave a new one.`
    }`,
  ];
  return `${lines.join('\n')}\n`;
}

/** Accuracy on gold (ties broken by the rule) and expected accuracy (a k-way tie holding the truth earns 1/k). */
function accuracyReport(encoded: EncodedLabels, result: AggregateResult, gold: Map<string, string>) {
  const classCount = encoded.classes.length;
  const classIndex = new Map(encoded.classes.map((name, k) => [name, k]));
  const isGold = new Uint8Array(encoded.items.length);
  let scored = 0;
  let correct = 0;
  let expected = 0;
  for (let i = 0; i < encoded.items.length; i += 1) {
    const truth = gold.get(encoded.items[i] as string);
    if (truth === undefined) continue;
    scored += 1;
    isGold[i] = 1;
    const k = classIndex.get(truth) ?? -1;
    if (k === result.label[i]) correct += 1;
    // The truth is among the tied classes when it scored as high as the chosen one.
    const top = result.confidence[i] as number;
    if (k >= 0 && (result.posterior[i * classCount + k] as number) >= top - 1e-9)
      expected += 1 / (result.tied[i] as number);
  }
  const unanswered = gold.size - scored;
  // A gold label no worker gave can never be matched: often a sign of another spelling or encoding.
  const unknown = [...gold].filter(([, label]) => !classIndex.has(label));
  const unknownNote =
    unknown.length === 0
      ? ''
      : `${unknown.length} gold ${unknown.length === 1 ? 'label is' : 'labels are'} no label any worker gave, so ${
          unknown.length === 1 ? 'its task counts' : 'their tasks count'
        } as wrong: ${unknown
          .slice(0, 5)
          .map(([task, label]) => `task ${JSON.stringify(task)} ${JSON.stringify(label)}`)
          .join(
            ', ',
          )}${unknown.length > 5 ? ', …' : ''}. Check the gold file's spelling and encoding (--gold-encoding).\n`;
  const overall =
    gold.size === 0
      ? 'Accuracy on gold: the gold file lists no tasks.\n'
      : scored === 0
        ? 'Accuracy on gold: none of the gold tasks has answers.\n'
        : `Accuracy on gold: ${formatNumber(correct / scored)}, expected accuracy ${formatNumber(expected / scored)} (${correct} of ${scored} gold tasks right${
            unanswered > 0 ? `; ${unanswered} gold tasks had no answers` : ''
          })\n`;
  // Per-worker standing by the rule payments use, on the gold rows only (few), as plain labels.
  const goldLabels: CategoricalLabel[] = [];
  for (let n = 0; n < encoded.item.length; n += 1) {
    const i = encoded.item[n] as number;
    if (isGold[i] === 0) continue;
    goldLabels.push({
      worker: encoded.workers[encoded.worker[n] as number] as string,
      item: encoded.items[i] as string,
      label: encoded.classes[encoded.label[n] as number] as string,
    });
  }
  const minGold = 3;
  const table = goldAccuracy(goldLabels, gold, { minGold })
    .workers.map((worker) =>
      formatCsvRow([
        worker.worker,
        String(worker.answered),
        String(worker.correct),
        worker.accuracy === null ? '' : formatNumber(worker.accuracy),
        worker.status,
      ]),
    )
    .join('');
  return `${overall}${unknownNote}Per-worker accuracy on gold (judged after ${minGold} gold answers):\nworker,gold_answered,gold_correct,accuracy,status\n${table}`;
}

/**
 * Numbers one model may hold (8 bytes each): a confusion matrix per worker and a posterior per item. Real
 * label sets stay far below (2.26M answers in 5 classes: 0.2M; 10M in 5: 5M); 1,000 free-text classes over
 * 40 workers (40M) already took minutes to fit, every candidate of the choice fitting its own.
 */
const maxModelCells = 20_000_000;

const megabytes = (cells: number) => Math.round((cells * 8) / 2 ** 20).toLocaleString('en');

/**
 * Refuses, in words, a file whose models could not fit in memory: the confusion matrices grow with the
 * square of the classes, and a file of free-text labels (100,000 distinct answers) asked for 10^10 of them,
 * failing deep inside with "Invalid typed array length", or stalling for minutes on the way. The CLI's own
 * rule: a server project's classes are bounded by its label schema.
 */
function refuseOversizedModel(encoded: EncodedLabels): void {
  const classes = encoded.classes.length;
  const cells = encoded.workers.length * classes * classes + encoded.items.length * classes;
  if (cells <= maxModelCells) return;
  throw new BaseError(
    'bad_request',
    `${classes.toLocaleString('en')} classes over ${encoded.workers.length.toLocaleString('en')} workers and ${encoded.items.length.toLocaleString('en')} tasks need ${megabytes(cells)} MB of model (a confusion matrix of classes × classes per worker), above the ${megabytes(maxModelCells)} MB one model may take. So many classes usually means free-text answers rather than labels: map them to a set of labels first.`,
  );
}

/** Refuses an --output that names one of the inputs (by the file itself, whatever the path's spelling). */
async function refuseOverwritingInput(output: string, inputs: ReadonlyArray<string | undefined>): Promise<void> {
  const target = await stat(output).catch(() => undefined);
  if (!target) return;
  for (const input of inputs) {
    if (input === undefined) continue;
    const source = await stat(input).catch(() => undefined);
    if (source && source.dev === target.dev && source.ino === target.ino) {
      throw new BaseError(
        'bad_request',
        `--output ${output} is the input file ${input}: writing the results there would replace what they were read from. Choose another --output.`,
      );
    }
  }
}

/**
 * `aggregate`: streams worker,task,label answers into integer columns, aggregates them with the server's
 * own library and writes task,label,confidence,tied; with --gold, also scores the result and each worker.
 */
export async function runAggregate(options: AggregateOptions, io: CliIo): Promise<number> {
  if (!options.input) throw new BaseError('bad_request', 'aggregate needs --input FILE (a worker,task,label CSV).');
  const method = (options.method ?? 'auto') as MethodOption;
  if (!methods.includes(method)) {
    throw new BaseError('bad_request', `--method must be one of ${methods.join(', ')}, not "${options.method}".`);
  }
  if (options.output) await refuseOverwritingInput(options.output, [options.input, options.gold]);
  const answers = await readAnswerFile(options.input, options.encoding);
  // Its own encoding: a gold file often comes from elsewhere than the answers (an expert's UTF-8 sheet).
  const gold = options.gold ? await readGoldFile(options.gold, options['gold-encoding']) : undefined;
  refuseOversizedModel(answers.encoded);
  // Gold only scores the result here: given to the model, gold items are clamped and the score means nothing.
  const result = aggregateEncoded(answers.encoded, { method });
  const csv = labelsCsv(answers.encoded, result);
  const report = gold ? accuracyReport(answers.encoded, result, gold) : '';
  if (options.output) {
    // In place, not through a file renamed over it: --output may be /dev/null, a symlink or a mounted file.
    await writeFile(options.output, csv).catch((cause: unknown) => {
      throw new BaseError('bad_request', `Cannot write ${options.output}: ${(cause as Error).message}`, { cause });
    });
  } else {
    // stdout carries only the CSV so it can be piped.
    io.out(csv);
  }
  io.err(`${summary(answers, result, options.output)}${report}`);
  return 0;
}
