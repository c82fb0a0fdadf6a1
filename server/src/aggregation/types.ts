/** One categorical answer: `worker` gave `label` to `item`. A worker labels an item at most once. */
export interface CategoricalLabel {
  worker: string;
  item: string;
  label: string;
}

/** The aggregated label of one item. */
export interface AggregatedItem {
  item: string;
  label: string;
  /** How sure the method is of `label`: its vote share (majority vote) or posterior (Dawid-Skene). */
  confidence: number;
  /** The same measure for every class, in the result's class order. */
  posterior: Record<string, number>;
  /** How many labels the item had. */
  labels: number;
  /** Another class scored exactly as high; `label` was picked by the deterministic tie rule. */
  tied: boolean;
}

/**
 * One pairwise answer: `worker` compared answers `a` and `b` of `item` and preferred one (or called a
 * tie). `a` and `b` name what gets a strength (an answer, or the model that wrote it); `shownLeft` is the
 * one the server displayed on the left in this worker's assignment (the order is randomized per assignment).
 */
export interface PairwiseLabel {
  worker: string;
  item: string;
  a: string;
  b: string;
  preferred: 'a' | 'b' | 'tie';
  shownLeft: 'a' | 'b';
}
