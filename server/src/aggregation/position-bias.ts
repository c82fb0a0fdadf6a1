import { fairCoinPValue } from './beta-distribution';
import type { PairwiseLabel } from './types';

export interface PositionBiasOptions {
  /** Significance level of the two-sided test (strict, since it runs once per labeler). Default 0.001. */
  alpha?: number;
  /** Decisive (non-tie) answers a labeler needs before they can be flagged. Default 10. */
  minDecisive?: number;
}

export interface LabelerPositionBias {
  worker: string;
  /** Answers that preferred one side, how many of those chose the left one, and ties. */
  decisive: number;
  leftChoices: number;
  ties: number;
  /** leftChoices / decisive; 0.5 is expected, since which answer is on the left is random. Null with no decisive answer. */
  leftShare: number | null;
  /** Exact binomial test of leftChoices against a fair coin. */
  pValue: number;
  biased: boolean;
}

/** Per labeler, how often they chose the left answer, and whether that departs from 1/2 beyond chance. */
export function positionBias(
  labels: readonly PairwiseLabel[],
  options: PositionBiasOptions = {},
): LabelerPositionBias[] {
  const alpha = options.alpha ?? 0.001;
  const minDecisive = options.minDecisive ?? 10;
  const tally = new Map<string, { decisive: number; leftChoices: number; ties: number }>();
  for (const label of labels) {
    let record = tally.get(label.worker);
    if (!record) {
      record = { decisive: 0, leftChoices: 0, ties: 0 };
      tally.set(label.worker, record);
    }
    if (label.preferred === 'tie') record.ties += 1;
    else {
      record.decisive += 1;
      if (label.preferred === label.shownLeft) record.leftChoices += 1;
    }
  }
  return [...tally].map(([worker, record]) => {
    const pValue = fairCoinPValue(record.leftChoices, record.decisive);
    return {
      worker,
      ...record,
      leftShare: record.decisive > 0 ? record.leftChoices / record.decisive : null,
      pValue,
      biased: record.decisive >= minDecisive && pValue < alpha,
    };
  });
}
