import { BaseError } from '@protocol/errors';
import type { CategoricalLabel } from './types';

/** Labels as integer columns, so the numeric loops touch typed arrays and never strings or objects. */
export interface EncodedLabels {
  workers: string[];
  items: string[];
  classes: string[];
  /** Per label: index into `workers`, `items`, `classes`. */
  worker: Int32Array;
  item: Int32Array;
  label: Int32Array;
  /** Per item: the index of its gold class, or -1. */
  gold: Int32Array;
}

/** A string table: each name's index, in the order first seen. */
export class NameTable {
  readonly names: string[] = [];
  private readonly index = new Map<string, number>();

  /** The name's index, adding it when new. */
  indexOf(name: string): number {
    let at = this.index.get(name);
    if (at === undefined) {
      at = this.names.length;
      this.names.push(name);
      this.index.set(name, at);
    }
    return at;
  }

  /** The name's index, or undefined when it was never added. */
  find(name: string): number | undefined {
    return this.index.get(name);
  }
}

/** Class order: the schema's when given, else sorted, so results never depend on input order. */
function classOrder(
  labels: readonly CategoricalLabel[],
  classes: readonly string[] | undefined,
  gold: ReadonlyMap<string, string> | undefined,
): string[] {
  if (classes) {
    if (new Set(classes).size !== classes.length) throw new BaseError('bad_request', 'The classes repeat a name.');
    return [...classes];
  }
  const seen = new Set<string>();
  for (const label of labels) seen.add(label.label);
  for (const truth of gold?.values() ?? []) seen.add(truth);
  return [...seen].sort();
}

/** Encodes labels to integers; rejects a worker labeling an item twice and labels outside `classes`. */
export function encodeLabels(
  labels: readonly CategoricalLabel[],
  options: { classes?: readonly string[] | undefined; gold?: ReadonlyMap<string, string> | undefined } = {},
): EncodedLabels {
  const classes = classOrder(labels, options.classes, options.gold);
  const classIndex = new Map(classes.map((name, index) => [name, index]));
  const workers = new NameTable();
  const items = new NameTable();
  const worker = new Int32Array(labels.length);
  const item = new Int32Array(labels.length);
  const label = new Int32Array(labels.length);
  for (let n = 0; n < labels.length; n += 1) {
    const row = labels[n] as CategoricalLabel;
    const k = classIndex.get(row.label);
    if (k === undefined) {
      throw new BaseError(
        'bad_request',
        `Worker "${row.worker}" gave item "${row.item}" the label "${row.label}", which is not one of ${classes.join(', ')}.`,
      );
    }
    worker[n] = workers.indexOf(row.worker);
    item[n] = items.indexOf(row.item);
    label[n] = k;
  }
  const gold = new Int32Array(items.names.length).fill(-1);
  for (const [name, truth] of options.gold ?? []) {
    const at = items.find(name);
    if (at === undefined) continue;
    const k = classIndex.get(truth);
    if (k === undefined) {
      throw new BaseError(
        'bad_request',
        `Gold item "${name}" has the label "${truth}", not one of ${classes.join(', ')}.`,
      );
    }
    gold[at] = k;
  }
  const encoded = { workers: workers.names, items: items.names, classes, worker, item, label, gold };
  rejectRepeatedLabels(encoded);
  return encoded;
}

/** The models assume one label per worker and item; a repeat would count that worker twice. */
function rejectRepeatedLabels(encoded: EncodedLabels): void {
  const { item, worker } = encoded;
  // Counting sort of labels by item (O(N)), then a per-worker stamp finds a repeat within each item.
  const start = new Int32Array(encoded.items.length + 1);
  for (const i of item) start[i + 1] = (start[i + 1] as number) + 1;
  for (let i = 0; i < encoded.items.length; i += 1) start[i + 1] = (start[i + 1] as number) + (start[i] as number);
  const next = start.slice(0, encoded.items.length);
  const byItem = new Int32Array(item.length);
  for (let n = 0; n < item.length; n += 1) {
    const i = item[n] as number;
    byItem[next[i] as number] = n;
    next[i] = (next[i] as number) + 1;
  }
  const lastItem = new Int32Array(encoded.workers.length).fill(-1);
  for (let i = 0; i < encoded.items.length; i += 1) {
    for (let at = start[i] as number; at < (start[i + 1] as number); at += 1) {
      const w = worker[byItem[at] as number] as number;
      if (lastItem[w] === i) {
        throw new BaseError(
          'bad_request',
          `Worker "${encoded.workers[w]}" labeled item "${encoded.items[i]}" more than once.`,
        );
      }
      lastItem[w] = i;
    }
  }
}
