import type { ConfusionFit } from './confusion-em';
import type { EncodedLabels } from './encode-labels';
import { seededRandom } from './synthetic-crowd';

/** A model fitted on some answers, as the held-out scores need it. */
export type Fitter = (encoded: EncodedLabels) => ConfusionFit;

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
 * Mean held-out log-likelihood per scored answer (or gold item) of `fitter` under `plan` (higher is
 * better), and how many were scored.
 */
export function heldOutScore(
  encoded: EncodedLabels,
  plan: HeldOutPlan,
  fitter: Fitter,
  folds = plan.folds,
): { score: number; scored: number } {
  const classCount = encoded.classes.length;
  const square = classCount * classCount;
  let total = 0;
  let scored = 0;
  for (let out = 0; out < folds; out += 1) {
    if (plan.by === 'gold') {
      const gold = encoded.gold.slice();
      for (let i = 0; i < gold.length; i += 1) if (plan.fold[i] === out) gold[i] = -1;
      const fit = fitter({ ...encoded, gold });
      for (let i = 0; i < gold.length; i += 1) {
        if (plan.fold[i] !== out) continue;
        total += Math.log(Math.max(1e-12, fit.posterior[i * classCount + (encoded.gold[i] as number)] as number));
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
        probability += (fit.posterior[row + k] as number) * (fit.confusion[base + k * classCount] as number);
      }
      total += Math.log(Math.max(1e-12, probability));
      scored += 1;
    }
  }
  return { score: scored > 0 ? total / scored : Number.NEGATIVE_INFINITY, scored };
}
