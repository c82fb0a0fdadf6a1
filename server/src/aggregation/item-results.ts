import type { EncodedLabels } from './encode-labels';
import type { AggregatedItem } from './types';

/**
 * Class indices from most to least preferred by `weight` (then class order): the deterministic
 * tie rule, so a tie goes to the class that is more common overall rather than to the first name.
 */
export function tiePreference(weight: ArrayLike<number>): Int32Array {
  const order = Array.from({ length: weight.length }, (_, k) => k);
  order.sort((x, y) => (weight[y] as number) - (weight[x] as number) || x - y);
  return Int32Array.from(order);
}

/** Turns per-item rows of class scores (K per item, summing to 1) into aggregated items. */
export function toAggregatedItems(
  encoded: EncodedLabels,
  scores: Float64Array,
  preference: Int32Array,
): AggregatedItem[] {
  const classCount = encoded.classes.length;
  const labelCounts = new Int32Array(encoded.items.length);
  for (const i of encoded.item) labelCounts[i] = (labelCounts[i] as number) + 1;
  return encoded.items.map((item, i) => {
    const row = i * classCount;
    let best = preference[0] as number;
    for (let at = 1; at < classCount; at += 1) {
      const k = preference[at] as number;
      if ((scores[row + k] as number) > (scores[row + best] as number)) best = k;
    }
    let tied = false;
    for (let k = 0; k < classCount; k += 1) {
      if (k !== best && scores[row + k] === scores[row + best]) tied = true;
    }
    return {
      item,
      label: encoded.classes[best] as string,
      confidence: scores[row + best] as number,
      // fromEntries defines own properties, so a class named "__proto__" stays a plain key.
      posterior: Object.fromEntries(encoded.classes.map((name, k) => [name, scores[row + k] as number])),
      labels: labelCounts[i] as number,
      tied,
    };
  });
}
