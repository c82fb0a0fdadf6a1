import { BaseError } from '@protocol/errors';
import { estimatePrior, posteriorsFrom } from './confusion-em';
import { type EncodedLabels, encodeLabels } from './encode-labels';
import { tiePreference, toAggregatedItems } from './item-results';
import { voteShares } from './majority-vote';
import type { AggregatedItem, CategoricalLabel } from './types';

export interface DawidSkeneOptions {
  /** The schema's classes, in order; default: every label and gold answer seen, sorted. */
  classes?: readonly string[];
  /** Known answers by item: those items' posteriors are clamped to the truth, which anchors the labelers' matrices. */
  gold?: ReadonlyMap<string, string>;
  /** Pseudo-count added to every confusion cell and class prior (a symmetric Dirichlet), so unseen cells are never 0. */
  smoothing?: number;
  /**
   * Extra pseudo-count on each matrix's diagonal: the prior belief that a labeler beats chance. It only
   * matters for labelers with few labels, whose matrices would otherwise be near-uniform and let the class
   * prior outvote what they said.
   */
  diagonalPrior?: number;
  maxIterations?: number;
  /** Stop when the log-likelihood changes by less than this per label between iterations. */
  tolerance?: number;
}

export interface DawidSkeneItem extends AggregatedItem {
  /** The label is the gold answer, not an estimate (confidence 1). */
  gold: boolean;
}

export interface LabelerQuality {
  worker: string;
  labels: number;
  /** Estimated chance the labeler's answer is right: Σ_k prior(k) · P(answers k | truth k). */
  accuracy: number;
  /** confusion[truth][answer] = P(the labeler answers `answer` | the true class is `truth`); rows sum to 1. */
  confusion: Record<string, Record<string, number>>;
}

export interface DawidSkeneResult {
  method: 'ds';
  classes: string[];
  priors: Record<string, number>;
  /** Confidence is the posterior probability of the chosen class. */
  items: DawidSkeneItem[];
  workers: LabelerQuality[];
  iterations: number;
  converged: boolean;
  /** Log-likelihood of the labels (and gold) under the final parameters. */
  logLikelihood: number;
}

const defaults = { smoothing: 1, diagonalPrior: 2, maxIterations: 100, tolerance: 1e-6 };

/** M-step: class priors and each worker's row-normalized confusion matrix from the current posteriors. */
function estimateParameters(
  encoded: EncodedLabels,
  posterior: Float64Array,
  smoothing: number,
  diagonalPrior: number,
  prior: Float64Array,
  confusion: Float64Array,
): void {
  const classCount = encoded.classes.length;
  const square = classCount * classCount;
  // Gold items inform the confusion matrices but not the class prior (estimatePrior skips them).
  estimatePrior(encoded, posterior, { classSmoothing: smoothing }, prior);

  // Cell (w, truth k, answer l) lives at w·K² + k·K + l.
  confusion.fill(smoothing);
  for (let w = 0; w < encoded.workers.length; w += 1) {
    for (let k = 0; k < classCount; k += 1) {
      const cell = w * square + k * classCount + k;
      confusion[cell] = (confusion[cell] as number) + diagonalPrior;
    }
  }
  const { worker, item, label } = encoded;
  for (let n = 0; n < label.length; n += 1) {
    const base = (worker[n] as number) * square + (label[n] as number);
    const row = (item[n] as number) * classCount;
    for (let k = 0; k < classCount; k += 1) {
      const cell = base + k * classCount;
      confusion[cell] = (confusion[cell] as number) + (posterior[row + k] as number);
    }
  }
  for (let row = 0; row < confusion.length; row += classCount) {
    let sum = 0;
    for (let l = 0; l < classCount; l += 1) sum += confusion[row + l] as number;
    for (let l = 0; l < classCount; l += 1) confusion[row + l] = (confusion[row + l] as number) / sum;
  }
}

function clampGold(encoded: EncodedLabels, posterior: Float64Array): void {
  const classCount = encoded.classes.length;
  for (let i = 0; i < encoded.items.length; i += 1) {
    const truth = encoded.gold[i] as number;
    if (truth < 0) continue;
    posterior.fill(0, i * classCount, (i + 1) * classCount);
    posterior[i * classCount + truth] = 1;
  }
}

function labelerQuality(encoded: EncodedLabels, prior: Float64Array, confusion: Float64Array): LabelerQuality[] {
  const classCount = encoded.classes.length;
  const counts = new Int32Array(encoded.workers.length);
  for (const w of encoded.worker) counts[w] = (counts[w] as number) + 1;
  return encoded.workers.map((worker, w) => {
    const cell = (k: number, l: number) => confusion[(w * classCount + k) * classCount + l] as number;
    let accuracy = 0;
    for (let k = 0; k < classCount; k += 1) accuracy += (prior[k] as number) * cell(k, k);
    return {
      worker,
      labels: counts[w] as number,
      accuracy,
      confusion: Object.fromEntries(
        encoded.classes.map((truth, k) => [
          truth,
          Object.fromEntries(encoded.classes.map((answer, l) => [answer, cell(k, l)])),
        ]),
      ),
    };
  });
}

/**
 * Dawid-Skene (1979): EM over per-labeler confusion matrices and class priors, started from majority
 * vote, with gold items clamped. Memory and time are O(labels · classes) per iteration.
 */
export function dawidSkene(labels: readonly CategoricalLabel[], options: DawidSkeneOptions = {}): DawidSkeneResult {
  const smoothing = options.smoothing ?? defaults.smoothing;
  const maxIterations = options.maxIterations ?? defaults.maxIterations;
  const diagonalPrior = options.diagonalPrior ?? defaults.diagonalPrior;
  const tolerance = options.tolerance ?? defaults.tolerance;
  if (!(smoothing > 0)) throw new BaseError('bad_request', 'Dawid-Skene needs a smoothing above 0.');
  if (!(diagonalPrior >= 0)) throw new BaseError('bad_request', 'Dawid-Skene needs a diagonal prior of 0 or more.');
  if (!(maxIterations >= 1)) throw new BaseError('bad_request', 'Dawid-Skene needs at least one iteration.');
  const encoded = encodeLabels(labels, { classes: options.classes, gold: options.gold });
  const classCount = encoded.classes.length;

  const posterior = voteShares(encoded);
  clampGold(encoded, posterior);
  const prior = new Float64Array(classCount);
  const confusion = new Float64Array(encoded.workers.length * classCount * classCount);
  let logLikelihood = Number.NEGATIVE_INFINITY;
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    estimateParameters(encoded, posterior, smoothing, diagonalPrior, prior, confusion);
    const next = posteriorsFrom(encoded, prior, confusion, posterior);
    iterations += 1;
    const change = Math.abs(next - logLikelihood);
    logLikelihood = next;
    if (change <= tolerance * encoded.label.length) {
      converged = true;
      break;
    }
  }

  const items = toAggregatedItems(encoded, posterior, tiePreference(prior)).map((result, i) => ({
    ...result,
    gold: (encoded.gold[i] as number) >= 0,
  }));
  return {
    method: 'ds',
    classes: encoded.classes,
    priors: Object.fromEntries(encoded.classes.map((name, k) => [name, prior[k] as number])),
    items,
    workers: labelerQuality(encoded, prior, confusion),
    iterations,
    converged,
    logLikelihood,
  };
}
