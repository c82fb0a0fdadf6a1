import type { EncodedLabels } from './encode-labels';
import { softmaxRows } from './softmax-rows';

/**
 * How a model turns soft confusion counts into each worker's answer distribution. Dawid-Skene, one-coin
 * and MACE differ only here: the E-step (posteriors of the truth given every worker's matrix) is shared.
 */
export interface ConfusionEstimator {
  /**
   * Fills `confusion` (workers × K × K, cell w·K² + truth·K + answer, rows summing to 1) from `counts`, the
   * same layout holding Σ over a worker's answers of P(truth | answers) — the expected confusion counts.
   */
  estimate(counts: Float64Array, classCount: number, confusion: Float64Array): void;
}

export interface ConfusionEmOptions {
  maxIterations: number;
  /** Stop when the log-likelihood changes by less than this per answer between iterations. */
  tolerance: number;
  /** Pseudo-count per class on the class prior; `uniformPrior` keeps it at 1/K instead (majority vote's model). */
  classSmoothing: number;
  uniformPrior?: boolean;
}

export interface ConfusionFit {
  /** items × K, rows summing to 1; gold rows clamped to their answer. */
  posterior: Float64Array;
  prior: Float64Array;
  confusion: Float64Array;
  iterations: number;
  converged: boolean;
  logLikelihood: number;
}

/** Per item, its answers' vote shares (uniform for an item with no answers), gold clamped: EM's start. */
export function startingPosterior(encoded: EncodedLabels): Float64Array {
  const classCount = encoded.classes.length;
  const posterior = new Float64Array(encoded.items.length * classCount);
  const totals = new Float64Array(encoded.items.length);
  const { item, label } = encoded;
  for (let n = 0; n < label.length; n += 1) {
    const i = item[n] as number;
    posterior[i * classCount + (label[n] as number)] = (posterior[i * classCount + (label[n] as number)] as number) + 1;
    totals[i] = (totals[i] as number) + 1;
  }
  for (let i = 0; i < totals.length; i += 1) {
    const row = i * classCount;
    const truth = encoded.gold[i] as number;
    if (truth >= 0) {
      posterior.fill(0, row, row + classCount);
      posterior[row + truth] = 1;
      continue;
    }
    const total = totals[i] as number;
    if (total === 0) posterior.fill(1 / classCount, row, row + classCount);
    else for (let k = 0; k < classCount; k += 1) posterior[row + k] = (posterior[row + k] as number) / total;
  }
  return posterior;
}

/** Expected confusion counts: counts[w·K² + truth·K + answer] = Σ_answers P(truth | item). */
function softCounts(encoded: EncodedLabels, posterior: Float64Array, counts: Float64Array): void {
  const classCount = encoded.classes.length;
  const square = classCount * classCount;
  counts.fill(0);
  const { worker, item, label } = encoded;
  for (let n = 0; n < label.length; n += 1) {
    const base = (worker[n] as number) * square + (label[n] as number);
    const row = (item[n] as number) * classCount;
    for (let k = 0; k < classCount; k += 1)
      counts[base + k * classCount] = (counts[base + k * classCount] as number) + (posterior[row + k] as number);
  }
}

/** M-step for the class prior: smoothed posterior mass of the non-gold items, normalized. */
export function estimatePrior(
  encoded: EncodedLabels,
  posterior: Float64Array,
  options: Pick<ConfusionEmOptions, 'classSmoothing' | 'uniformPrior'>,
  prior: Float64Array,
): void {
  const classCount = encoded.classes.length;
  if (options.uniformPrior) {
    prior.fill(1 / classCount);
    return;
  }
  // Gold items say nothing about class frequency: the buyer picked them.
  prior.fill(options.classSmoothing);
  for (let i = 0; i < encoded.items.length; i += 1) {
    if ((encoded.gold[i] as number) >= 0) continue;
    for (let k = 0; k < classCount; k += 1) prior[k] = (prior[k] as number) + (posterior[i * classCount + k] as number);
  }
  let total = 0;
  for (let k = 0; k < classCount; k += 1) total += prior[k] as number;
  for (let k = 0; k < classCount; k += 1) prior[k] = (prior[k] as number) / total;
}

/** E-step in log space over every item; gold rows are clamped. Returns the log-likelihood of the answers. */
export function posteriorsFrom(
  encoded: EncodedLabels,
  prior: Float64Array,
  confusion: Float64Array,
  posterior: Float64Array,
): number {
  const classCount = encoded.classes.length;
  const square = classCount * classCount;
  const logPrior = prior.map(Math.log);
  // log P(answer | truth) laid out per (worker, answer) with the K truths side by side, so the loop over
  // answers reads K neighbouring numbers instead of K cells a row apart.
  const logColumns = new Float64Array(confusion.length);
  for (let base = 0; base < confusion.length; base += square) {
    for (let k = 0; k < classCount; k += 1) {
      for (let l = 0; l < classCount; l += 1) {
        logColumns[base + l * classCount + k] = Math.log(confusion[base + k * classCount + l] as number);
      }
    }
  }
  for (let i = 0; i < encoded.items.length; i += 1) posterior.set(logPrior, i * classCount);
  const { worker, item, label } = encoded;
  for (let n = 0; n < label.length; n += 1) {
    const column = (worker[n] as number) * square + (label[n] as number) * classCount;
    const row = (item[n] as number) * classCount;
    for (let k = 0; k < classCount; k += 1)
      posterior[row + k] = (posterior[row + k] as number) + (logColumns[column + k] as number);
  }
  return softmaxRows(encoded, posterior);
}

/** EM from majority vote's shares: M-step (class prior, `estimator`'s matrices), then E-step, until stable. */
export function fitConfusionEm(
  encoded: EncodedLabels,
  estimator: ConfusionEstimator,
  options: ConfusionEmOptions,
): ConfusionFit {
  const classCount = encoded.classes.length;
  const posterior = startingPosterior(encoded);
  const prior = new Float64Array(classCount);
  const confusion = new Float64Array(encoded.workers.length * classCount * classCount);
  const counts = new Float64Array(confusion.length);
  let logLikelihood = Number.NEGATIVE_INFINITY;
  let iterations = 0;
  let converged = false;
  while (iterations < options.maxIterations) {
    estimatePrior(encoded, posterior, options, prior);
    softCounts(encoded, posterior, counts);
    estimator.estimate(counts, classCount, confusion);
    const next = posteriorsFrom(encoded, prior, confusion, posterior);
    iterations += 1;
    const change = Math.abs(next - logLikelihood);
    logLikelihood = next;
    if (change <= options.tolerance * Math.max(1, encoded.label.length)) {
      converged = true;
      break;
    }
  }
  return { posterior, prior, confusion, iterations, converged, logLikelihood };
}
