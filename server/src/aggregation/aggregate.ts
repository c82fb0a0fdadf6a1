import { BaseError } from '@protocol/errors';
import { type ConfusionFit, fitConfusionEm } from './confusion-em';
import {
  type DawidSkenePriors,
  dawidSkeneEstimator,
  homogeneousEstimator,
  learnedPriorEstimator,
  maceEstimator,
  oneCoinEstimator,
} from './confusion-estimators';
import type { EncodedLabels } from './encode-labels';
import { fitTemperature, type HeldOutPlan, heldOutPlan, heldOutScore } from './held-out';
import { seededRandom } from './synthetic-crowd';
import type { AggregatedItem } from './types';
import { fitWawa } from './wawa';

export type AggregationMethod = 'mv' | 'wawa' | 'ds' | 'onecoin' | 'mace';

/** One model with its settings: what `auto` chooses among, and what a result records. */
export interface AggregationChoice {
  method: AggregationMethod;
  /**
   * The model's priors (ds: smoothing, diagonal, pooled, or smoothing and learned: 1 for the fitted
   * hierarchical prior; onecoin: pooled; mace: pseudoCount; {} for mv, wawa), and `temperature` when the
   * posterior is tempered. A result also reports what was fitted: `strength`, a learned prior's mean Σα.
   */
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
  /**
   * How the method was picked, and each candidate's mean held-out log-likelihood (auto only) at its own
   * best temperature (`temperature`), and as fitted (`untempered`).
   */
  selectedBy: 'gold' | 'answers' | 'named';
  candidates: Array<AggregationChoice & { score: number; untempered: number; temperature: number }>;
  /**
   * The posterior is the model's raised to this power and renormalized (1: as fitted). `auto` fits it on
   * the chosen candidate's held-out answers or gold items; a named method takes `parameters.temperature`.
   */
  temperature: number;
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

/**
 * What `auto` tries: majority vote, Wawa, Dawid-Skene under the learned (empirical-Bayes) prior and under a
 * small grid of fixed priors, one-coin and MACE. The learned prior is listed before the grid, so on an
 * equal score the choice that needs no setting stays.
 */
export const autoCandidates: readonly AggregationChoice[] = [
  { method: 'mv', parameters: {} },
  { method: 'wawa', parameters: {} },
  { method: 'ds', parameters: { smoothing: 0.01, learned: 1 } },
  ...[
    { diagonal: 0, pooled: 0 },
    { diagonal: 2, pooled: 0 },
    { diagonal: 0, pooled: 2 },
    { diagonal: 0, pooled: 8 },
  ].map((priors) => ({ method: 'ds' as const, parameters: { smoothing: 0.01, ...priors } })),
  { method: 'onecoin', parameters: { pooled: 4 } },
  { method: 'mace', parameters: { pseudoCount: 1 } },
];

const defaults = {
  minGold: 30,
  folds: 10,
  scoredFolds: 3,
  maxIterations: 200,
  tolerance: 1e-7,
  /** Above this many answers the choice is made on a seeded sample of items with about `sampleLabels`. */
  choiceLabels: 100_000,
  sampleLabels: 50_000,
  /** From this many answers two scored folds (20% of the answers, 8,000 or more) rank the candidates. */
  twoFoldLabels: 40_000,
  minGain: 3,
};

/**
 * A project of more than `above` answers is chosen for on a seeded sample of its items (all their answers,
 * about `limit` in all): the ranking of a dozen candidates needs tens of thousands of answers, not millions. The sample's items are
 * renumbered, so each fit's per-item arrays hold only the sampled items.
 */
function sampleItems(encoded: EncodedLabels, above: number, limit: number): EncodedLabels {
  if (encoded.label.length <= above) return encoded;
  const random = seededRandom(6_789);
  const share = limit / encoded.label.length;
  const renumbered = new Int32Array(encoded.items.length).fill(-1);
  const items: string[] = [];
  const gold: number[] = [];
  for (let i = 0; i < renumbered.length; i += 1) {
    if (random() >= share) continue;
    renumbered[i] = items.length;
    items.push(encoded.items[i] as string);
    gold.push(encoded.gold[i] as number);
  }
  let kept = 0;
  for (const i of encoded.item) if ((renumbered[i] as number) >= 0) kept += 1;
  const worker = new Int32Array(kept);
  const item = new Int32Array(kept);
  const label = new Int32Array(kept);
  let at = 0;
  for (let n = 0; n < encoded.label.length; n += 1) {
    const i = renumbered[encoded.item[n] as number] as number;
    if (i < 0) continue;
    worker[at] = encoded.worker[n] as number;
    item[at] = i;
    label[at] = encoded.label[n] as number;
    at += 1;
  }
  return { ...encoded, items, gold: Int32Array.from(gold), worker, item, label };
}

/** A fit, and what it learned that the result reports with the parameters (a learned prior's strength). */
type ChoiceFitter = (encoded: EncodedLabels) => ConfusionFit & { learned?: Record<string, number> };

function fitterFor(choice: AggregationChoice, maxIterations: number, tolerance: number): ChoiceFitter {
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
      if (p.learned === 1) {
        return (encoded) => {
          const estimator = learnedPriorEstimator(priors.smoothing);
          const fit = fitConfusionEm(encoded, estimator, em);
          const mean = estimator.strengths.reduce((sum, value) => sum + value, 0) / estimator.strengths.length;
          return { ...fit, learned: { strength: Math.round(mean * 100) / 100 } };
        };
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

/** How many answers (or gold items) the first `folds` folds of `plan` hold out. */
function countScored(plan: HeldOutPlan, folds: number): number {
  let count = 0;
  for (const fold of plan.fold) if (fold >= 0 && fold < folds) count += 1;
  return count;
}

/** Raises each non-gold posterior row to `temperature` and renormalizes, in place (gold rows stay 0/1). */
function temper(posterior: Float64Array, classCount: number, temperature: number): void {
  if (temperature === 1) return;
  for (let row = 0; row < posterior.length; row += classCount) {
    let max = 0;
    for (let k = 0; k < classCount; k += 1) max = Math.max(max, posterior[row + k] as number);
    let sum = 0;
    for (let k = 0; k < classCount; k += 1) {
      const value = (posterior[row + k] as number) / max;
      const tempered = value > 0 ? Math.exp(temperature * Math.log(value)) : 0;
      posterior[row + k] = tempered;
      sum += tempered;
    }
    for (let k = 0; k < classCount; k += 1) posterior[row + k] = (posterior[row + k] as number) / sum;
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
  let temperature = 1;
  if (method === 'auto') {
    const sample = sampleItems(encoded, defaults.choiceLabels, defaults.sampleLabels);
    const plan = heldOutPlan(sample, {
      minGold: options.minGold ?? defaults.minGold,
      folds: options.folds ?? defaults.folds,
    });
    selectedBy = plan.by;
    const scoredFolds = Math.min(
      plan.folds,
      plan.by === 'answers' && sample.label.length >= defaults.twoFoldLabels ? 2 : defaults.scoredFolds,
    );
    for (const candidate of autoCandidates) {
      // Choosing needs the ranking, not the last digits: a looser stop keeps the grid affordable.
      const heldOut = heldOutScore(sample, plan, fitterFor(candidate, Math.min(maxIterations, 100), 1e-4), scoredFolds);
      const tempered = fitTemperature(heldOut.predictions, classCount);
      candidates.push({
        ...candidate,
        score: heldOut.scored > 0 ? tempered.logLikelihood / heldOut.scored : Number.NEGATIVE_INFINITY,
        untempered: heldOut.score,
        temperature: tempered.temperature,
      });
    }
    const scored = countScored(plan, scoredFolds);
    // Strictly better only: on equal scores the earlier (simpler) candidate stays.
    const best = candidates.reduce((top, candidate) => (candidate.score > top.score ? candidate : top));
    const anchor = candidates[0] as AggregateResult['candidates'][number];
    // A richer model must beat majority vote (the first candidate) by `minGain` nats in all, or a handful
    // of answers would pick a model by noise.
    const kept = (best.score - anchor.score) * scored >= defaults.minGain ? best : anchor;
    choice = { method: kept.method, parameters: kept.parameters };
    temperature = kept.temperature;
  } else {
    choice = { method, parameters: { ...defaultParameters[method], ...options.parameters } };
    temperature = choice.parameters.temperature ?? 1;
    if (!(temperature > 0)) throw new BaseError('bad_request', 'The temperature must be above 0.');
  }
  const fit = fitterFor(choice, maxIterations, tolerance)(encoded);
  temper(fit.posterior, classCount, temperature);
  const parameters = { ...choice.parameters, ...fit.learned };
  if (temperature !== 1) parameters.temperature = temperature;
  return {
    method: choice.method,
    parameters,
    classes: encoded.classes,
    selectedBy,
    candidates,
    temperature,
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
