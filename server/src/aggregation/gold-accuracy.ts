import { goldPolicy } from '@protocol/labeling';
import type { CategoricalLabel } from './types';

export interface GoldAccuracyOptions {
  /** Gold answers a labeler needs before their accuracy is judged (the warm-up). Default 3. */
  minGold?: number;
  /** Accuracy below which a judged labeler's labels should stop counting. Default 0.6. */
  minAccuracy?: number;
}

export interface LabelerGoldAccuracy {
  worker: string;
  /** Gold items this labeler answered, and how many of those answers matched the gold. */
  answered: number;
  correct: number;
  /** correct / answered once past the warm-up; null before, since a few answers say little. */
  accuracy: number | null;
  status: 'warming_up' | 'counting' | 'below_threshold';
}

export interface GoldAccuracyReport {
  /** Over every gold answer of every labeler; null when nobody answered a gold item. */
  answered: number;
  correct: number;
  accuracy: number | null;
  /** Labelers who answered at least one gold item, in order of first appearance. */
  workers: LabelerGoldAccuracy[];
}

/** Each labeler's accuracy on gold items, with a warm-up before it counts and a threshold after. */
export function goldAccuracy(
  labels: readonly CategoricalLabel[],
  gold: ReadonlyMap<string, string>,
  options: GoldAccuracyOptions = {},
): GoldAccuracyReport {
  const minGold = options.minGold ?? goldPolicy.minGold;
  const minAccuracy = options.minAccuracy ?? goldPolicy.minAccuracy;
  const tally = new Map<string, { answered: number; correct: number }>();
  let answered = 0;
  let correct = 0;
  for (const label of labels) {
    const truth = gold.get(label.item);
    if (truth === undefined) continue;
    let record = tally.get(label.worker);
    if (!record) {
      record = { answered: 0, correct: 0 };
      tally.set(label.worker, record);
    }
    record.answered += 1;
    answered += 1;
    if (label.label === truth) {
      record.correct += 1;
      correct += 1;
    }
  }
  const workers = [...tally].map(([worker, record]): LabelerGoldAccuracy => {
    const accuracy = record.answered >= minGold ? record.correct / record.answered : null;
    return {
      worker,
      ...record,
      accuracy,
      status: accuracy === null ? 'warming_up' : accuracy < minAccuracy ? 'below_threshold' : 'counting',
    };
  });
  return { answered, correct, accuracy: answered > 0 ? correct / answered : null, workers };
}
