/**
 * How much work earns, in whole points (the ledger's unit; sums are exact). The one place these
 * numbers live: ingest, verification and label payment all call here.
 */

/** A page, once verified. */
export const pagePoints = 100;

/** A label that agrees with its item's aggregate (or a correct gold answer), at full reliability. */
export const labelPointsAtFullReliability = 50;

/** A label's points: scaled by the labeler's reliability on gold (0..1), rounded to a whole point. */
export function labelPoints(reliability: number): number {
  return Math.round(labelPointsAtFullReliability * Math.min(1, Math.max(0, reliability)));
}
