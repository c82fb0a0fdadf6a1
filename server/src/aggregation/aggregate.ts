import { BaseError } from '@protocol/errors';
import { type ConfusionFit, fitConfusionEm } from './confusion-em';
import {
  type DawidSkenePriors,
  dawidSkeneEstimator,
  homogeneousEstimator,
  maceEstimator,
  oneCoinEstimator,
} from './confusion-estimators';
import type { EncodedLabels } from './encode-labels';
import { type Fitter, heldOutPlan, heldOutScore } from './held-out';
import { seededRandom } from './synthetic-crowd';
import type { AggregatedItem } from './types';
import { fitWawa } from './wawa';

export type AggregationMethod = 'mv' | 'wawa' | 'ds' | 'onecoin' | 'mace';

/** One model with its settings: what `auto` chooses among, and what a result records. */
export interface AggregationChoice {
  method: AggregationMethod;
  /** The model's priors (ds: smoothing, diagonal, pooled; onecoin: pooled; mace: pseudoCount); {} for mv, wawa. */
  parameters: Record<string, number>;
}

export interface AggregateOptions {
  /** `auto` (the default) picks the candidate with the best held-out likelihood; a method name fits that one. */
  method?: 'auto' | AggregationMethod;
  /** Settings of a named method; default: that method's entry in `defaultParameters`. */
  parameters?: Record<string, number>;
  /** Gold items with answers needed before `auto` scores on gold rather than on held-out answers. */
  minGold?: number;
  folds?: number;
  maxIterations?: number;
  tolerance?: number;
}

export interface AggregateResult extends AggregationChoice {
  classes: string[];
  /** How the method was picked, and each candidate's mean held-out log-likelihood (auto only). */
  selectedBy: 'gold' | 'answers' | 'named';
  candidates: Array<AggregationChoice & { score: number }>;
  /** Per item (encoded order): the chosen class index, its posterior, and how many classes tie at the top (1: none). */
  label: Int32Array;
  confidence: Float64Array;
  tied: Int32Array;
  /** items × classes, rows summing to 1. */
  posterior: Float64Array;
  classPrior: Float64Array;
  iterations: number;
  converged: boolean;
}

/** Per method, the settings used when it is named without parameters (DS: the empirical-Bayes prior). */
export const defaultParameters: Record<AggregationMethod, Record<string, number>> = {
  mv: {},
  wawa: {},
  ds: { smoothing: 0.01, diagonal: 0, pooled: 8 },
  onecoin: { pooled: 4 },
  mace: { pseudoCount: 1 },
};

/** What `auto` tries: a small grid of Dawid-Skene priors, one-coin shrinkages, MACE, Wawa and majority vote. */
export const autoCandidates: readonly AggregationChoice[] = [
  { method: 'mv', parameters: {} },
  { method: 'wawa', parameters: {} },
  ...[0, 2, 8, 32].flatMap((pooled) =>
    [0, 2].map((diagonal) => ({ method: 'ds' as const, parameters: { smoothing: 0.01, diagonal, pooled } })),
  ),
  { method: 'onecoin', parameters: { pooled: 4 } },
  { method: 'mace', parameters: { pseudoCount: 1 } },
];

const defaults = {
  minGold: 30,
  folds: 10,
  scoredFolds: 3,
  maxIterations: 200,
  tolerance: 1e-7,
  choiceLabels: 200_000,
  minGain: 3,
};

/**
 * A big project is chosen for on a seeded sample of its items (all their answers, about `limit` in all):
 * the ranking of a dozen candidates needs that many answers, not millions, and each costs three fits.
 */
function sampleItems(encoded: EncodedLabels, limit: number): EncodedLabels {
  if (encoded.label.length <= limit) return encoded;
  const random = seededRandom(6_789);
  const keep = new Uint8Array(encoded.items.length);
  const share = limit / encoded.label.length;
  for (let i = 0; i < keep.length; i += 1) keep[i] = random() < share ? 1 : 0;
  let kept = 0;
  for (const i of encoded.item) kept += keep[i] as number;
  const worker = new Int32Array(kept);
  const item = new Int32Array(kept);
  const label = new Int32Array(kept);
  let at = 0;
  for (let n = 0; n < encoded.label.length; n += 1) {
    if (!keep[encoded.item[n] as number]) continue;
    worker[at] = encoded.worker[n] as number;
    item[at] = encoded.item[n] as number;
    label[at] = encoded.label[n] as number;
    at += 1;
  }
  return { ...encoded, worker, item, label };
}

function fitterFor(choice: AggregationChoice, maxIterations: number, tolerance: number): Fitter {
  const em = { maxIterations, tolerance, classSmoothing: 1 };
  const p = choice.parameters;
  switch (choice.method) {
    case 'mv':
      return (encoded) => fitConfusionEm(encoded, homogeneousEstimator(), { ...em, uniformPrior: true });
    case 'wawa':
      return fitWawa;
    case 'ds': {
      const priors: DawidSkenePriors = {
        smoothing: p.smoothing ?? (defaultParameters.ds.smoothing as number),
        diagonal: p.diagonal ?? (defaultParameters.ds.diagonal as number),
        pooled: p.pooled ?? (defaultParameters.ds.pooled as number),
      };
      if (!(priors.smoothing > 0) || !(priors.diagonal >= 0) || !(priors.pooled >= 0)) {
        throw new BaseError(
          'bad_request',
          'Dawid-Skene needs smoothing above 0 and diagonal and pooled priors of 0 or more.',
        );
      }
      return (encoded) => fitConfusionEm(encoded, dawidSkeneEstimator(priors), em);
    }
    case 'onecoin': {
      const pooled = p.pooled ?? (defaultParameters.onecoin.pooled as number);
      return (encoded) => fitConfusionEm(encoded, oneCoinEstimator(pooled), em);
    }
    case 'mace': {
      const pseudoCount = p.pseudoCount ?? (defaultParameters.mace.pseudoCount as number);
      return (encoded) => fitConfusionEm(encoded, maceEstimator(pseudoCount), em);
    }
  }
}

/** Two posteriors this close count as a tie: sums of the same logs in another order differ in the last bits. */
const tieTolerance = 1e-9;

/** Per item: the top class (ties toward the class with the larger prior, then class order) and the tie count. */
function decide(fit: ConfusionFit, classCount: number, itemCount: number) {
  const order = Array.from({ length: classCount }, (_, k) => k).sort(
    (x, y) => (fit.prior[y] as number) - (fit.prior[x] as number) || x - y,
  );
  const label = new Int32Array(itemCount);
  const confidence = new Float64Array(itemCount);
  const tied = new Int32Array(itemCount);
  for (let i = 0; i < itemCount; i += 1) {
    const row = i * classCount;
    let best = order[0] as number;
    for (const k of order)
      if ((fit.posterior[row + k] as number) > (fit.posterior[row + best] as number) + tieTolerance) best = k;
    const top = fit.posterior[row + best] as number;
    let count = 0;
    for (let k = 0; k < classCount; k += 1) if ((fit.posterior[row + k] as number) >= top - tieTolerance) count += 1;
    label[i] = best;
    confidence[i] = top;
    tied[i] = count;
  }
  return { label, confidence, tied };
}

/**
 * Aggregates integer-encoded answers (`encodeLabels`, or a reader that builds the columns directly).
 * `auto` scores every candidate by held-out likelihood — of gold items when at least `minGold` have answers,
 * else of held-out answers (k folds over answers) — and refits the best on everything.
 */
export function aggregateEncoded(encoded: EncodedLabels, options: AggregateOptions = {}): AggregateResult {
  const classCount = encoded.classes.length;
  if (classCount === 0) throw new BaseError('bad_request', 'There are no classes to aggregate into.');
  const maxIterations = options.maxIterations ?? defaults.maxIterations;
  const tolerance = options.tolerance ?? defaults.tolerance;
  const method = options.method ?? 'auto';
  let choice: AggregationChoice;
  let selectedBy: AggregateResult['selectedBy'] = 'named';
  const candidates: AggregateResult['candidates'] = [];
  if (method === 'auto') {
    const sample = sampleItems(encoded, defaults.choiceLabels);
    const plan = heldOutPlan(sample, {
      minGold: options.minGold ?? defaults.minGold,
      folds: options.folds ?? defaults.folds,
    });
    selectedBy = plan.by;
    let scored = 0;
    for (const candidate of autoCandidates) {
      // Choosing needs the ranking, not the last digits: a looser stop keeps the grid affordable.
      const heldOut = heldOutScore(
        sample,
        plan,
        fitterFor(candidate, Math.min(maxIterations, 100), 1e-5),
        Math.min(plan.folds, defaults.scoredFolds),
      );
      candidates.push({ ...candidate, score: heldOut.score });
      scored = heldOut.scored;
    }
    // Strictly better only: on equal scores the earlier (simpler) candidate stays.
    const best = candidates.reduce((top, candidate) => (candidate.score > top.score ? candidate : top));
    const anchor = candidates[0] as AggregateResult['candidates'][number];
    // A richer model must beat majority vote (the first candidate) by `minGain` nats in all, or a handful
    // of answers would pick a model by noise.
    choice = (best.score - anchor.score) * scored >= defaults.minGain ? best : anchor;
    choice = { method: choice.method, parameters: choice.parameters };
  } else {
    choice = { method, parameters: { ...defaultParameters[method], ...options.parameters } };
  }
  const fit = fitterFor(choice, maxIterations, tolerance)(encoded);
  return {
    ...choice,
    classes: encoded.classes,
    selectedBy,
    candidates,
    ...decide(fit, classCount, encoded.items.length),
    posterior: fit.posterior,
    classPrior: fit.prior,
    iterations: fit.iterations,
    converged: fit.converged,
  };
}

/** The result as one object per item with class names, as the server stores it. */
export function aggregatedItems(encoded: EncodedLabels, result: AggregateResult): AggregatedItem[] {
  const classCount = encoded.classes.length;
  const labels = new Int32Array(encoded.items.length);
  for (const i of encoded.item) labels[i] = (labels[i] as number) + 1;
  return encoded.items.map((item, i) => ({
    item,
    label: encoded.classes[result.label[i] as number] as string,
    confidence: result.confidence[i] as number,
    posterior: Object.fromEntries(
      encoded.classes.map((name, k) => [name, result.posterior[i * classCount + k] as number]),
    ),
    labels: labels[i] as number,
    tied: (result.tied[i] as number) > 1,
  }));
}
