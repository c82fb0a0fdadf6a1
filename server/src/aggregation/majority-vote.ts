import { type EncodedLabels, encodeLabels } from './encode-labels';
import { tiePreference, toAggregatedItems } from './item-results';
import type { AggregatedItem, CategoricalLabel } from './types';

export interface MajorityVoteOptions {
  /** The schema's classes, in order; default: every label seen, sorted. */
  classes?: readonly string[];
}

export interface MajorityVoteResult {
  method: 'mv';
  classes: string[];
  /** Confidence is the winning vote share: agreement, not a calibrated probability. */
  items: AggregatedItem[];
}

/** Per item, the share of its labels that chose each class: K numbers per item, summing to 1. */
export function voteShares(encoded: EncodedLabels): Float64Array {
  const classCount = encoded.classes.length;
  const shares = new Float64Array(encoded.items.length * classCount);
  const totals = new Float64Array(encoded.items.length);
  for (let n = 0; n < encoded.item.length; n += 1) {
    const i = encoded.item[n] as number;
    const cell = i * classCount + (encoded.label[n] as number);
    shares[cell] = (shares[cell] as number) + 1;
    totals[i] = (totals[i] as number) + 1;
  }
  for (let i = 0; i < totals.length; i += 1) {
    const total = totals[i] as number;
    for (let k = 0; k < classCount; k += 1) shares[i * classCount + k] = (shares[i * classCount + k] as number) / total;
  }
  return shares;
}

/** How often each class was chosen over all labels: majority vote breaks ties toward the commoner class. */
function classFrequency(encoded: EncodedLabels): Float64Array {
  const frequency = new Float64Array(encoded.classes.length);
  for (const k of encoded.label) frequency[k] = (frequency[k] as number) + 1;
  return frequency;
}

/** Majority vote per item; ties go to the class chosen more often overall (then class order) and are flagged. */
export function majorityVote(
  labels: readonly CategoricalLabel[],
  options: MajorityVoteOptions = {},
): MajorityVoteResult {
  const encoded = encodeLabels(labels, { classes: options.classes });
  return {
    method: 'mv',
    classes: encoded.classes,
    items: toAggregatedItems(encoded, voteShares(encoded), tiePreference(classFrequency(encoded))),
  };
}
