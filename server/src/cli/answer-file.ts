import { BaseError } from '@protocol/errors';
import type { EncodedLabels } from '../aggregation/encode-labels';
import { ByteInterner } from './byte-interner';
import { FileProblems } from './file-problems';
import { readTable } from './table-file';

export interface AnswerFile {
  encoded: EncodedLabels;
  /** Answer rows in the file, before repeats were folded. */
  rows: number;
  /** Rows where a worker answered a task again: with a label they had given it before, or a new one. */
  exactRepeats: number;
  changedAnswers: number;
  encoding: string;
}

/**
 * Keeps each worker's latest answer to each task (file order) and counts the repeats: the models count
 * one answer per worker and task, and published crowds do hold repeats, which are not errors.
 * O(answers): a counting sort by task, then a per-worker stamp within each task.
 */
function keepLatest(
  worker: Int32Array,
  task: Int32Array,
  label: Int32Array,
  sizes: { rows: number; workers: number; tasks: number; labels: number },
) {
  const { rows, workers, tasks, labels: labelCount } = sizes;
  const start = new Int32Array(tasks + 1);
  for (let n = 0; n < rows; n += 1) start[(task[n] as number) + 1] = (start[(task[n] as number) + 1] as number) + 1;
  for (let t = 0; t < tasks; t += 1) start[t + 1] = (start[t + 1] as number) + (start[t] as number);
  const next = start.slice(0, tasks);
  const byTask = new Int32Array(rows);
  for (let n = 0; n < rows; n += 1) {
    const t = task[n] as number;
    byTask[next[t] as number] = n;
    next[t] = (next[t] as number) + 1;
  }
  const stamp = new Int32Array(workers).fill(-1);
  const first = new Int32Array(workers);
  const latest = new Int32Array(workers);
  const dropped = new Uint8Array(rows);
  // (first row of the worker's answers to the task, label) pairs already given, filled only on repeats.
  const given = new Set<number>();
  const classes = Math.max(1, labelCount);
  let exactRepeats = 0;
  let changedAnswers = 0;
  for (let t = 0; t < tasks; t += 1) {
    for (let at = start[t] as number; at < (start[t + 1] as number); at += 1) {
      const n = byTask[at] as number;
      const w = worker[n] as number;
      if (stamp[w] === t) {
        const earlier = latest[w] as number;
        const pair = (first[w] as number) * classes;
        given.add(pair + (label[earlier] as number));
        // Exact: the very row was given before (what published figures drop); changed: a label not given before.
        if (given.has(pair + (label[n] as number))) exactRepeats += 1;
        else changedAnswers += 1;
        dropped[earlier] = 1;
      } else {
        stamp[w] = t;
        first[w] = n;
      }
      latest[w] = n;
    }
  }
  const kept = rows - exactRepeats - changedAnswers;
  const columns = { worker: new Int32Array(kept), item: new Int32Array(kept), label: new Int32Array(kept) };
  let at = 0;
  for (let n = 0; n < rows; n += 1) {
    if (dropped[n]) continue;
    columns.worker[at] = worker[n] as number;
    columns.item[at] = task[n] as number;
    columns.label[at] = label[n] as number;
    at += 1;
  }
  return { ...columns, exactRepeats, changedAnswers };
}

/** Reads a worker,task,label CSV into the integer columns the aggregation library takes. */
export async function readAnswerFile(path: string, encoding: string | undefined): Promise<AnswerFile> {
  const workers = new ByteInterner();
  const tasks = new ByteInterner();
  const labels = new ByteInterner();
  const table = await readTable(path, 'answers', ['worker', 'task', 'label'], [workers, tasks, labels], { encoding });
  if (table.rows === 0) throw new BaseError('bad_request', `${path} has a header but no answers.`);
  const [worker, task, label] = table.ids as [Int32Array, Int32Array, Int32Array];
  const latest = keepLatest(worker, task, label, {
    rows: table.rows,
    workers: workers.size,
    tasks: tasks.size,
    labels: labels.size,
  });
  // Classes sorted by name, as the library's own encoder does, so results never depend on row order; a
  // label found only in replaced answers is no class of the answers aggregated.
  const used = new Uint8Array(labels.size);
  for (const k of latest.label) used[k] = 1;
  const classes = labels.names.filter((_, k) => used[k] === 1).sort();
  const classIndex = new Map(classes.map((name, k) => [name, k]));
  const remap = Int32Array.from(labels.names, (name) => classIndex.get(name) ?? -1);
  for (let n = 0; n < latest.label.length; n += 1) latest.label[n] = remap[latest.label[n] as number] as number;
  return {
    encoded: {
      workers: workers.names,
      items: tasks.names,
      classes,
      worker: latest.worker,
      item: latest.item,
      label: latest.label,
      gold: new Int32Array(tasks.size).fill(-1),
    },
    rows: table.rows,
    exactRepeats: latest.exactRepeats,
    changedAnswers: latest.changedAnswers,
    encoding: table.encoding,
  };
}

/** Reads a task,label gold CSV; a task listed twice with the same label is fine, with two labels a problem. */
export async function readGoldFile(path: string, encoding: string | undefined): Promise<Map<string, string>> {
  const tasks = new ByteInterner();
  const labels = new ByteInterner();
  const table = await readTable(path, 'gold', ['task', 'label'], [tasks, labels], { encoding, keepLines: true });
  const [task, label] = table.ids as [Int32Array, Int32Array];
  const lines = table.lines as Int32Array;
  const first = new Int32Array(tasks.size).fill(-1);
  const problems = new FileProblems();
  for (let n = 0; n < table.rows; n += 1) {
    const t = task[n] as number;
    const earlier = first[t] as number;
    if (earlier === -1) first[t] = n;
    else if (label[earlier] !== label[n]) {
      problems.add(
        // Names as JSON strings: a name holding a line break must not print as a line of the report.
        `task ${JSON.stringify(tasks.names[t])} already has the gold label ${JSON.stringify(labels.names[label[earlier] as number])} on line ${lines[earlier]}.`,
        lines[n] as number,
      );
    }
  }
  problems.throwIfAny(path);
  const gold = new Map<string, string>();
  for (let t = 0; t < tasks.size; t += 1) {
    gold.set(tasks.names[t] as string, labels.names[label[first[t] as number] as number] as string);
  }
  return gold;
}
