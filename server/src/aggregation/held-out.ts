import type { ConfusionFit } from './confusion-em';
import type { EncodedLabels } from './encode-labels';
import { seededRandom } from './synthetic-crowd';

/** A model fitted on some answers, as the held-out scores need it. */
type Fitter = (encoded: EncodedLabels) => ConfusionFit;

/**
 * What a candidate is judged on: `answers` holds out folds of answers and scores the probability the
 * model gave each held-out answer from the item's other answers (Σ_k P(truth k | rest) · P(answer | k));
 * `gold` holds out folds of gold items and scores the posterior the model gave their known answer.
 */
export interface HeldOutPlan {
  by: 'answers' | 'gold';
  folds: number;
  /** Per answer (by answers) or per item (by gold, -1 for non-gold items): its fold. */
  fold: Int32Array;
}

/** Folds drawn with a fixed seed, so the same data always gives the same choice. */
export function heldOutPlan(encoded: EncodedLabels, options: { minGold: number; folds: number; seed?: number }) {
  const random = seededRandom(options.seed ?? 12_345);
  let goldWithAnswers = 0;
  const answered = new Uint8Array(encoded.items.length);
  for (const i of encoded.item) answered[i] = 1;
  for (let i = 0; i < encoded.items.length; i += 1)
    if ((encoded.gold[i] as number) >= 0 && answered[i]) goldWithAnswers += 1;
  if (goldWithAnswers >= options.minGold) {
    const fold = new Int32Array(encoded.items.length).fill(-1);
    for (let i = 0; i < encoded.items.length; i += 1) {
      if ((encoded.gold[i] as number) >= 0 && answered[i]) fold[i] = Math.floor(random() * options.folds);
    }
    return { by: 'gold', folds: options.folds, fold } satisfies HeldOutPlan;
  }
  const fold = new Int32Array(encoded.label.length);
  for (let n = 0; n < fold.length; n += 1) fold[n] = Math.floor(random() * options.folds);
  return { by: 'answers', folds: options.folds, fold } satisfies HeldOutPlan;
}

/** The labels minus one fold of answers: same worker, item and class indices, fewer rows. */
function withoutAnswers(encoded: EncodedLabels, fold: Int32Array, out: number): EncodedLabels {
  let kept = 0;
  for (let n = 0; n < fold.length; n += 1) if (fold[n] !== out) kept += 1;
  const worker = new Int32Array(kept);
  const item = new Int32Array(kept);
  const label = new Int32Array(kept);
  let at = 0;
  for (let n = 0; n < fold.length; n += 1) {
    if (fold[n] === out) continue;
    worker[at] = encoded.worker[n] as number;
    item[at] = encoded.item[n] as number;
    label[at] = encoded.label[n] as number;
    at += 1;
  }
  return { ...encoded, worker, item, label };
}

/**
 * What a candidate predicted for each scored answer (or gold item): the posterior over the truth from
 * the rest, as log q(k) − max_k log q (`logShare`, scored × K, −∞ where q is 0: what tempering needs),
 * and the chance of what was observed under each truth (`chance`, scored × K: the worker's confusion
 * column for an answer, an indicator for a gold item).
 */
interface HeldOutPredictions {
  logShare: Float64Array;
  chance: Float64Array;
}

/** Stores posterior[row…row+K) as log shares at prediction `at`. */
function storeShares(
  predictions: HeldOutPredictions,
  at: number,
  posterior: Float64Array,
  row: number,
  classCount: number,
) {
  let max = 0;
  for (let k = 0; k < classCount; k += 1) max = Math.max(max, posterior[row + k] as number);
  for (let k = 0; k < classCount; k += 1) {
    predictions.logShare[at * classCount + k] = Math.log((posterior[row + k] as number) / max);
  }
}

interface HeldOutScore {
  /** Mean held-out log-likelihood per scored answer (or gold item); higher is better. */
  score: number;
  scored: number;
  predictions: HeldOutPredictions;
}

/** Mean held-out log-likelihood of `fitter` under `plan`, how many were scored, and what it predicted. */
export function heldOutScore(
  encoded: EncodedLabels,
  plan: HeldOutPlan,
  fitter: Fitter,
  folds = plan.folds,
): HeldOutScore {
  const classCount = encoded.classes.length;
  const square = classCount * classCount;
  let expected = 0;
  if (plan.by === 'gold') {
    for (let i = 0; i < plan.fold.length; i += 1)
      if ((plan.fold[i] as number) >= 0 && (plan.fold[i] as number) < folds) expected += 1;
  } else {
    for (const f of plan.fold) if (f < folds) expected += 1;
  }
  const predictions = {
    logShare: new Float64Array(expected * classCount),
    chance: new Float64Array(expected * classCount),
  };
  let total = 0;
  let scored = 0;
  for (let out = 0; out < folds; out += 1) {
    if (plan.by === 'gold') {
      const gold = encoded.gold.slice();
      for (let i = 0; i < gold.length; i += 1) if (plan.fold[i] === out) gold[i] = -1;
      const fit = fitter({ ...encoded, gold });
      for (let i = 0; i < gold.length; i += 1) {
        if (plan.fold[i] !== out) continue;
        const truth = encoded.gold[i] as number;
        total += Math.log(Math.max(1e-12, fit.posterior[i * classCount + truth] as number));
        storeShares(predictions, scored, fit.posterior, i * classCount, classCount);
        predictions.chance[scored * classCount + truth] = 1;
        scored += 1;
      }
      continue;
    }
    const fit = fitter(withoutAnswers(encoded, plan.fold, out));
    for (let n = 0; n < plan.fold.length; n += 1) {
      if (plan.fold[n] !== out) continue;
      const row = (encoded.item[n] as number) * classCount;
      const base = (encoded.worker[n] as number) * square + (encoded.label[n] as number);
      let probability = 0;
      for (let k = 0; k < classCount; k += 1) {
        const chance = fit.confusion[base + k * classCount] as number;
        probability += (fit.posterior[row + k] as number) * chance;
        predictions.chance[scored * classCount + k] = chance;
      }
      storeShares(predictions, scored, fit.posterior, row, classCount);
      total += Math.log(Math.max(1e-12, probability));
      scored += 1;
    }
  }
  return { score: scored > 0 ? total / scored : Number.NEGATIVE_INFINITY, scored, predictions };
}

/** Σ log Σ_k q_τ(k)·chance(k) over the predictions, with q_τ ∝ posterior^τ. */
function temperedLogLikelihood(predictions: HeldOutPredictions, classCount: number, tau: number): number {
  const { logShare, chance } = predictions;
  let total = 0;
  for (let row = 0; row < logShare.length; row += classCount) {
    let normalizer = 0;
    let probability = 0;
    for (let k = 0; k < classCount; k += 1) {
      const weight = Math.exp(tau * (logShare[row + k] as number));
      normalizer += weight;
      probability += weight * (chance[row + k] as number);
    }
    total += Math.log(Math.max(1e-12, probability / normalizer));
  }
  return total;
}

/**
 * The temperature τ (posterior^τ, renormalized) that best predicts the held-out answers or gold items,
 * by golden-section search on log τ over [1/16, 4], and the total held-out log-likelihood at that τ: a
 * model whose independence assumption overstates the evidence gets τ < 1. Candidates are compared at
 * their own best τ, so one that ranks the classes well but states them too surely is not passed over
 * for one that is merely timid. The labels do not change (tempering keeps the order of the classes).
 */
export function fitTemperature(
  predictions: HeldOutPredictions,
  classCount: number,
): { temperature: number; logLikelihood: number } {
  const score = (logTau: number) => temperedLogLikelihood(predictions, classCount, Math.exp(logTau));
  const asFitted = score(0);
  if (predictions.logShare.length === 0) return { temperature: 1, logLikelihood: asFitted };
  const ratio = (Math.sqrt(5) - 1) / 2;
  let low = Math.log(1 / 16);
  let high = Math.log(4);
  let x1 = high - ratio * (high - low);
  let x2 = low + ratio * (high - low);
  let f1 = score(x1);
  let f2 = score(x2);
  while (high - low > 0.02) {
    if (f1 >= f2) {
      high = x2;
      x2 = x1;
      f2 = f1;
      x1 = high - ratio * (high - low);
      f1 = score(x1);
    } else {
      low = x1;
      x1 = x2;
      f1 = f2;
      x2 = low + ratio * (high - low);
      f2 = score(x2);
    }
  }
  const temperature = Math.round(Math.exp((low + high) / 2) * 1000) / 1000;
  const tempered = score(Math.log(temperature));
  // The model as fitted when tempering gains less than a nat in all: no change for nothing.
  return tempered - asFitted > 1
    ? { temperature, logLikelihood: tempered }
    : { temperature: 1, logLikelihood: asFitted };
}
