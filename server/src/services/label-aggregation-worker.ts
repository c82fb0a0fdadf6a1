import { labelKey } from '@protocol/label-rules';
import { type LabelSchema, type LabelValue, labelValueSchema, type ProjectAggregation } from '@protocol/labeling';
import { type AggregationMethod, aggregatedItems, aggregateEncoded } from '../aggregation/aggregate';
import { bradleyTerry } from '../aggregation/bradley-terry';
import { encodeLabels, NameTable } from '../aggregation/encode-labels';
import { majorityVote } from '../aggregation/majority-vote';
import type { AggregatedItem, CategoricalLabel, PairwiseLabel } from '../aggregation/types';
import { serveThreadRequests } from '../threads/thread-pool';

/*
 * The fit of a project's labels, run in a thread (label-aggregation-pool.ts) because on a big project it takes
 * seconds (~2 s for 150,000 labels), and on the HTTP thread those seconds would stall every request.
 * `aggregateProject` reads the labels and writes the result; only this pure computation runs here. Labels
 * cross as columns of integers into small string tables, and the result comes back as columns, so neither
 * side spends long copying objects.
 */

/** One usable label as `aggregateProject` read it. */
export interface LabelFitRow {
  device: string;
  item_id: string;
  /** The stored answer (JSON). */
  value: string;
  is_gold: boolean;
  shown_left: string | null;
  /** The item's known answer (JSON), for gold items. */
  gold_answer: string | null;
}

/** A project's usable labels, in the order read, as columns. */
export interface LabelFitInput {
  schema: LabelSchema;
  devices: string[];
  items: string[];
  /** Each distinct stored answer once: a categorical project has a handful. */
  values: string[];
  /** Per label: indexes into `devices`, `items`, `values`. */
  device: Int32Array;
  item: Int32Array;
  value: Int32Array;
  /** Per label: 1 for a gold item's label. */
  isGold: Uint8Array;
  /** Per label: which answer of a pairwise item was shown on the left: 1 a, 2 b, 0 neither. */
  shownLeft: Uint8Array;
  /** The gold items (indexes into `items`) with their known answers, in the order first read. */
  goldItems: Int32Array;
  goldAnswers: string[];
}

/** What the fit gives `aggregateProject` to store. */
export interface LabelFit {
  /** The stored method (`aggregated_labels.method`): ds, mv or bt. */
  method: 'ds' | 'mv' | 'bt';
  /** What the project records of its aggregation. */
  aggregation: ProjectAggregation;
  /** Per aggregated item (gold items left out), in item id order: index into the input's `items`. */
  item: Int32Array;
  /** Per aggregated item: its label (index into `labels`) and the confidence in it. */
  label: Int32Array;
  labels: string[];
  confidence: Float64Array;
}

/**
 * Builds a project's label columns one label at a time, so its labels can be read in chunks and no row
 * object outlives its chunk: ids into small string tables, typed arrays grown by doubling.
 */
export class LabelFitInputBuilder {
  private readonly devices = new NameTable();
  private readonly items = new NameTable();
  private readonly values = new NameTable();
  private device = new Int32Array(1024);
  private item = new Int32Array(1024);
  private value = new Int32Array(1024);
  private isGold = new Uint8Array(1024);
  private shownLeft = new Uint8Array(1024);
  private readonly gold = new Map<number, string>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(row: LabelFitRow): void {
    const n = this.count;
    if (n === this.device.length) this.grow(n * 2);
    this.device[n] = this.devices.indexOf(row.device);
    const i = this.items.indexOf(row.item_id);
    this.item[n] = i;
    this.value[n] = this.values.indexOf(row.value);
    this.isGold[n] = row.is_gold ? 1 : 0;
    this.shownLeft[n] = row.shown_left === 'a' ? 1 : row.shown_left === 'b' ? 2 : 0;
    if (row.gold_answer !== null && !this.gold.has(i)) this.gold.set(i, row.gold_answer);
    this.count = n + 1;
  }

  build(schema: LabelSchema): LabelFitInput {
    // Exactly as long as the labels: the thread reads every cell of the columns it is sent.
    this.grow(this.count);
    return {
      schema,
      devices: this.devices.names,
      items: this.items.names,
      values: this.values.names,
      device: this.device,
      item: this.item,
      value: this.value,
      isGold: this.isGold,
      shownLeft: this.shownLeft,
      goldItems: Int32Array.from(this.gold.keys()),
      goldAnswers: [...this.gold.values()],
    };
  }

  private grow(length: number): void {
    const resized = <T extends Int32Array | Uint8Array>(old: T, make: (length: number) => T): T => {
      const next = make(length);
      next.set(old.subarray(0, Math.min(old.length, length)));
      return next;
    };
    this.device = resized(this.device, (size) => new Int32Array(size));
    this.item = resized(this.item, (size) => new Int32Array(size));
    this.value = resized(this.value, (size) => new Int32Array(size));
    this.isGold = resized(this.isGold, (size) => new Uint8Array(size));
    this.shownLeft = resized(this.shownLeft, (size) => new Uint8Array(size));
  }
}

/** The label columns of `rows` (labels of one project), for `fitLabels`. */
export function labelFitInput(schema: LabelSchema, rows: readonly LabelFitRow[]): LabelFitInput {
  const builder = new LabelFitInputBuilder();
  for (const row of rows) builder.add(row);
  return builder.build(schema);
}

/** The input's typed arrays, which can move to a thread rather than be copied. */
export function labelFitBuffers(input: LabelFitInput): ArrayBuffer[] {
  return [input.device, input.item, input.value, input.isGold, input.shownLeft, input.goldItems].map(
    (column) => column.buffer as ArrayBuffer,
  );
}

/**
 * Each item's stored method (`aggregated_labels.method`, on the wire as ds | mv | bt) names the family:
 * one-coin and MACE are constrained Dawid-Skene models, Wawa a weighted vote. The project's progress
 * shows the exact method and priors.
 */
const itemMethod: Record<AggregationMethod, 'ds' | 'mv'> = {
  ds: 'ds',
  onecoin: 'ds',
  mace: 'ds',
  wawa: 'mv',
  mv: 'mv',
};

/**
 * Aggregates a project's usable labels: categorical answers by the library's `auto` choice (aggregate.ts;
 * gold items clamped to their answers), Bradley-Terry for pairwise preferences (regular labels only, ties as
 * half wins), majority vote for span sets and as the fallback when the choice cannot run. Gold items are left
 * out of the result. Throws on a stored answer that is not a label value.
 */
export function fitLabels(input: LabelFitInput): LabelFit {
  const parsed = input.values.map((text) => labelValueSchema.parse(JSON.parse(text)) as LabelValue);
  const keys = parsed.map(labelKey);
  const labels: CategoricalLabel[] = Array.from(input.device, (w, n) => ({
    worker: input.devices[w] as string,
    item: input.items[input.item[n] as number] as string,
    label: keys[input.value[n] as number] as string,
  }));
  // Gold items take part with their answers clamped: they anchor each labeler's confusion matrix.
  const gold = new Map(
    Array.from(input.goldItems, (i, g) => [
      input.items[i] as string,
      labelKey(labelValueSchema.parse(JSON.parse(input.goldAnswers[g] as string))),
    ]),
  );
  const { schema } = input;
  let method: LabelFit['method'] = schema.type === 'spans' ? 'mv' : schema.type === 'pairwise' ? 'bt' : 'ds';
  let items: AggregatedItem[];
  let aggregation: ProjectAggregation;
  const classes = schema.type === 'single_choice' ? schema.choices : undefined;
  if (method === 'bt') {
    items = bradleyTerry(pairwiseLabels(input, parsed)).items.map((item) => ({
      item: item.item,
      label: item.preferred,
      confidence: item.confidence,
      posterior: { a: item.shareA, b: 1 - item.shareA },
      labels: item.votes,
      tied: item.preferred === 'tie',
    }));
    aggregation = { method: 'bt', parameters: {}, selectedBy: 'named' };
  } else if (method === 'ds') {
    try {
      const encoded = encodeLabels(labels, { classes, gold });
      const result = aggregateEncoded(encoded);
      method = itemMethod[result.method];
      items = aggregatedItems(encoded, result);
      aggregation = { method: result.method, parameters: result.parameters, selectedBy: result.selectedBy };
    } catch {
      method = 'mv';
      items = majorityVote(labels, classes ? { classes } : {}).items;
      aggregation = { method: 'mv', parameters: {}, selectedBy: 'named' };
    }
  } else {
    items = majorityVote(labels).items;
    aggregation = { method: 'mv', parameters: {}, selectedBy: 'named' };
  }
  // In item id order: inserting a new aggregate key-share locks its item, and uploads lock items in id order.
  items = items.filter((item) => !gold.has(item.item)).sort((a, b) => Number(a.item) - Number(b.item));

  const itemIndex = new Map(input.items.map((name, i) => [name, i]));
  const names = new NameTable();
  return {
    method,
    aggregation,
    item: Int32Array.from(items, (item) => {
      const index = itemIndex.get(item.item);
      // A miss would become index 0 and write this aggregate onto another item.
      if (index === undefined) throw new Error(`the fit returned item ${item.item}, which it was not given`);
      return index;
    }),
    label: Int32Array.from(items, (item) => names.indexOf(item.label)),
    labels: names.names,
    confidence: Float64Array.from(items, (item) => item.confidence),
  };
}

/** Pairwise labels of regular items in the form Bradley-Terry takes: each item's two answers are its own. */
function pairwiseLabels(input: LabelFitInput, values: readonly LabelValue[]): PairwiseLabel[] {
  const labels: PairwiseLabel[] = [];
  for (let n = 0; n < input.device.length; n += 1) {
    const value = values[input.value[n] as number];
    const shownLeft = input.shownLeft[n] === 1 ? 'a' : input.shownLeft[n] === 2 ? 'b' : undefined;
    if (input.isGold[n] === 1 || value?.type !== 'pairwise' || shownLeft === undefined) continue;
    const item = input.items[input.item[n] as number] as string;
    labels.push({
      worker: input.devices[input.device[n] as number] as string,
      item,
      a: `${item}:a`,
      b: `${item}:b`,
      preferred: value.preferred,
      shownLeft,
    });
  }
  return labels;
}

/** The fitted items as `aggregateProject` stores them: item id, label, confidence. */
export function fittedItems(
  input: Pick<LabelFitInput, 'items'>,
  fit: LabelFit,
): Array<{ item: string; label: string; confidence: number }> {
  return Array.from(fit.item, (i, n) => ({
    item: input.items[i] as string,
    label: fit.labels[fit.label[n] as number] as string,
    confidence: fit.confidence[n] as number,
  }));
}

/**
 * Fits the pool's projects in this thread, one at a time. Called by the pool's start-up script, not on
 * import, so that importing this file elsewhere starts nothing.
 */
export function serveLabelFits(): void {
  serveThreadRequests(fitLabels, (fit) =>
    [fit.item, fit.label, fit.confidence].map((column) => column.buffer as ArrayBuffer),
  );
}
