import type { EncodedLabels } from './encode-labels';

/**
 * Turns each item's row of scores (items × K) into probabilities in place: a softmax at `temperature`,
 * shifted by the row's maximum so no exp overflows, with gold rows clamped to their answer. Returns
 * Σ over items of log Σ_k exp(score) (a gold row adds its answer's score): the log-likelihood of the
 * answers when the scores are log P(truth, answers) and the temperature is 1.
 */
export function softmaxRows(encoded: EncodedLabels, posterior: Float64Array, temperature = 1): number {
  const classCount = encoded.classes.length;
  let logLikelihood = 0;
  for (let i = 0; i < encoded.items.length; i += 1) {
    const row = i * classCount;
    const truth = encoded.gold[i] as number;
    if (truth >= 0) {
      logLikelihood += posterior[row + truth] as number;
      posterior.fill(0, row, row + classCount);
      posterior[row + truth] = 1;
      continue;
    }
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < classCount; k += 1) max = Math.max(max, posterior[row + k] as number);
    let sum = 0;
    for (let k = 0; k < classCount; k += 1) {
      const value = Math.exp(temperature * ((posterior[row + k] as number) - max));
      posterior[row + k] = value;
      sum += value;
    }
    for (let k = 0; k < classCount; k += 1) posterior[row + k] = (posterior[row + k] as number) / sum;
    logLikelihood += max + Math.log(sum);
  }
  return logLikelihood;
}
