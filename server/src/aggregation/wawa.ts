import type { ConfusionFit } from './confusion-em';
import { startingPosterior } from './confusion-em';
import type { EncodedLabels } from './encode-labels';
import { softmaxRows } from './softmax-rows';

/**
 * Wawa ("worker agreement with aggregate", as in Crowd-Kit): each worker's weight is their agreement with
 * majority vote, then a weighted vote. Posteriors are the softmax of the weighted votes at a temperature
 * that makes an average worker's weight its one-coin log-odds, and each worker's matrix is one-coin at
 * their agreement, so held-out answers can be scored against the other methods.
 */
export function fitWawa(encoded: EncodedLabels): ConfusionFit {
  const classCount = encoded.classes.length;
  const shares = startingPosterior(encoded);
  const { worker, item, label } = encoded;
  const agree = new Float64Array(encoded.workers.length);
  const total = new Float64Array(encoded.workers.length);
  const top = new Float64Array(encoded.items.length);
  for (let i = 0; i < encoded.items.length; i += 1) {
    let max = 0;
    for (let k = 0; k < classCount; k += 1) max = Math.max(max, shares[i * classCount + k] as number);
    top[i] = max;
  }
  for (let n = 0; n < label.length; n += 1) {
    const i = item[n] as number;
    const w = worker[n] as number;
    total[w] = (total[w] as number) + 1;
    // Agreement with a tied majority counts as a share: 1 / number of classes tied at the top.
    if (shares[i * classCount + (label[n] as number)] === top[i]) {
      let tied = 0;
      for (let k = 0; k < classCount; k += 1) if (shares[i * classCount + k] === top[i]) tied += 1;
      agree[w] = (agree[w] as number) + 1 / tied;
    }
  }
  const weight = new Float64Array(encoded.workers.length);
  let logOdds = 0;
  let weights = 0;
  for (let w = 0; w < weight.length; w += 1) {
    weight[w] = (agree[w] as number) / Math.max(1, total[w] as number);
    const a = Math.min(1 - 1e-3, Math.max(1e-3, ((agree[w] as number) + 1) / ((total[w] as number) + 2)));
    logOdds += (total[w] as number) * Math.log((a * (classCount - 1)) / (1 - a));
    weights += (total[w] as number) * (weight[w] as number);
  }
  const temperature = weights > 0 ? Math.max(0, logOdds) / weights : 1;
  const posterior = new Float64Array(encoded.items.length * classCount);
  for (let n = 0; n < label.length; n += 1) {
    const cell = (item[n] as number) * classCount + (label[n] as number);
    posterior[cell] = (posterior[cell] as number) + (weight[worker[n] as number] as number);
  }
  // Weighted votes, not log-probabilities: the log-likelihood softmaxRows returns means nothing here.
  softmaxRows(encoded, posterior, temperature);
  const square = classCount * classCount;
  const confusion = new Float64Array(encoded.workers.length * square);
  for (let w = 0; w < encoded.workers.length; w += 1) {
    const a = Math.min(1 - 1e-6, Math.max(1e-6, ((agree[w] as number) + 1) / ((total[w] as number) + 2)));
    for (let k = 0; k < classCount; k += 1) {
      for (let l = 0; l < classCount; l += 1) {
        confusion[w * square + k * classCount + l] = k === l ? a : (1 - a) / Math.max(1, classCount - 1);
      }
    }
  }
  return {
    posterior,
    prior: new Float64Array(classCount).fill(1 / classCount),
    confusion,
    iterations: 1,
    converged: true,
    logLikelihood: Number.NaN,
  };
}
