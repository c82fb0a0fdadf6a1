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
