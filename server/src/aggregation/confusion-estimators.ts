import type { ConfusionEstimator } from './confusion-em';
import { fitDirichlet } from './dirichlet-prior';

/** Row-normalizes every K-cell row of `confusion` in place. */
function normalizeRows(confusion: Float64Array, classCount: number): void {
  for (let row = 0; row < confusion.length; row += classCount) {
    let sum = 0;
    for (let l = 0; l < classCount; l += 1) sum += confusion[row + l] as number;
    for (let l = 0; l < classCount; l += 1) confusion[row + l] = (confusion[row + l] as number) / sum;
  }
}

/** The crowd's pooled confusion matrix (K × K, rows summing to 1) from every worker's counts. */
function pooledConfusion(counts: Float64Array, classCount: number, smoothing: number): Float64Array {
  const square = classCount * classCount;
  const pooled = new Float64Array(square).fill(smoothing);
  for (let c = 0; c < counts.length; c += 1)
    pooled[c % square] = (pooled[c % square] as number) + (counts[c] as number);
  normalizeRows(pooled, classCount);
  return pooled;
}

export interface DawidSkenePriors {
  /** Pseudo-count on every confusion cell (a symmetric Dirichlet), so no cell is ever 0. */
  smoothing: number;
  /** Extra pseudo-count on each row's diagonal: the belief that a worker beats chance. */
  diagonal: number;
  /**
   * Empirical-Bayes strength: pseudo-answers per row spread like the crowd's pooled confusion row, so a
   * worker with few answers looks like the crowd rather than like chance or like an expert.
   */
  pooled: number;
}

/** Dawid-Skene's M-step: each worker's full confusion matrix, with the priors above. */
export function dawidSkeneEstimator(priors: DawidSkenePriors): ConfusionEstimator {
  return {
    estimate(counts, classCount, confusion) {
      const square = classCount * classCount;
      const pooled = priors.pooled > 0 ? pooledConfusion(counts, classCount, priors.smoothing) : undefined;
      for (let c = 0; c < confusion.length; c += 1) {
        const cell = c % square;
        let value = (counts[c] as number) + priors.smoothing;
        if (pooled) value += priors.pooled * (pooled[cell] as number);
        if (Math.floor(cell / classCount) === cell % classCount) value += priors.diagonal;
        confusion[c] = value;
      }
      normalizeRows(confusion, classCount);
    },
  };
}

/** Where a learned prior starts: the pooled row with this many pseudo-answers (then fitted). */
const learnedStart = 8;
const priorWorkers = 1000;

/**
 * Dawid-Skene under a hierarchical prior: each true class's row of every worker's matrix is drawn from one
 * Dirichlet, fitted at every M-step by the marginal likelihood of all workers' rows (empirical Bayes).
 * The data set how strongly a sparse worker is pulled to the crowd: workers who differ little give a strong
 * pull, workers who differ a lot a weak one, per true class. `strengths` holds the fitted Σα per class.
 */
export function learnedPriorEstimator(smoothing: number): ConfusionEstimator & { strengths: Float64Array } {
  let alpha: Float64Array | undefined;
  const strengths = new Float64Array(0);
  const estimator = {
    strengths,
    fitted: false,
    estimate(counts: Float64Array, classCount: number, confusion: Float64Array) {
      const square = classCount * classCount;
      if (!alpha) {
        alpha = pooledConfusion(counts, classCount, smoothing);
        for (let c = 0; c < square; c += 1) alpha[c] = (alpha[c] as number) * learnedStart;
        estimator.strengths = new Float64Array(classCount);
      }
      // A prior shared by the crowd is fitted on at most `priorWorkers` of them (every n-th): hundreds of
      // workers pin it down, and its cost per M-step grows with workers, not answers.
      const every = Math.ceil(counts.length / square / priorWorkers);
      const rows = Math.floor(counts.length / square / every);
      // Warm-started from the last M-step, a few steps per M-step are enough: EM moves the counts little
      // (a generalized EM step: the prior's likelihood rises, it need not be at its maximum).
      const steps = estimator.fitted ? 3 : 20;
      estimator.fitted = true;
      for (let k = 0; k < classCount; k += 1) {
        const row = alpha.subarray(k * classCount, (k + 1) * classCount);
        fitDirichlet(
          row,
          counts,
          { offset: k * classCount, stride: square * every, rows },
          { maxIterations: steps, tolerance: 1e-4 },
        );
        let total = 0;
        for (const a of row) total += a;
        estimator.strengths[k] = total;
      }
      for (let c = 0; c < confusion.length; c += 1) {
        confusion[c] = (counts[c] as number) + (alpha[c % square] as number) + smoothing;
      }
      normalizeRows(confusion, classCount);
    },
  };
  return estimator;
}

/** Per worker: expected answers and expected right answers (the diagonal of the counts). */
function rightAndTotal(counts: Float64Array, classCount: number, workerCount: number) {
  const square = classCount * classCount;
  const right = new Float64Array(workerCount);
  const total = new Float64Array(workerCount);
  for (let w = 0; w < workerCount; w += 1) {
    for (let k = 0; k < classCount; k += 1) {
      for (let l = 0; l < classCount; l += 1) {
        const value = counts[w * square + k * classCount + l] as number;
        total[w] = (total[w] as number) + value;
        if (k === l) right[w] = (right[w] as number) + value;
      }
    }
  }
  return { right, total };
}

/** Fills each worker's matrix as a one-coin model: accuracy on the diagonal, the rest spread evenly. */
function fillOneCoin(confusion: Float64Array, classCount: number, accuracy: (w: number) => number): void {
  const square = classCount * classCount;
  const workerCount = confusion.length / square;
  for (let w = 0; w < workerCount; w += 1) {
    // Kept inside (0, 1) so a log never sees 0 and a worker who was always right can still be wrong once.
    const a = Math.min(1 - 1e-6, Math.max(1e-6, accuracy(w)));
    const other = classCount > 1 ? (1 - a) / (classCount - 1) : 0;
    for (let k = 0; k < classCount; k += 1) {
      for (let l = 0; l < classCount; l += 1) confusion[w * square + k * classCount + l] = k === l ? a : other;
    }
  }
}

/**
 * One-coin model (each worker right with one probability, wrong answers spread evenly), the accuracy
 * shrunk toward the crowd's by `pooled` pseudo-answers: fewer parameters than Dawid-Skene for sparse crowds.
 */
export function oneCoinEstimator(pooled: number): ConfusionEstimator {
  return {
    estimate(counts, classCount, confusion) {
      const { right, total } = rightAndTotal(counts, classCount, confusion.length / (classCount * classCount));
      let allRight = 0;
      let all = 0;
      for (let w = 0; w < right.length; w += 1) {
        allRight += right[w] as number;
        all += total[w] as number;
      }
      const crowd = (allRight + 1) / (all + 2);
      fillOneCoin(
        confusion,
        classCount,
        (w) => ((right[w] as number) + pooled * crowd) / ((total[w] as number) + pooled),
      );
    },
  };
}

/** Every worker shares one accuracy: with a uniform class prior its labels are majority vote's. */
export function homogeneousEstimator(): ConfusionEstimator {
  return {
    estimate(counts, classCount, confusion) {
      const { right, total } = rightAndTotal(counts, classCount, confusion.length / (classCount * classCount));
      let allRight = 0;
      let all = 0;
      for (let w = 0; w < right.length; w += 1) {
        allRight += right[w] as number;
        all += total[w] as number;
      }
      const accuracy = (allRight + 1) / (all + 2);
      fillOneCoin(confusion, classCount, () => accuracy);
    },
  };
}

/**
 * MACE (Hovy et al. 2013): a worker either knows the answer or, with probability θ, spams from their own
 * answer distribution ξ; P(answer l | truth k) = (1 − θ)·[l = k] + θ·ξ(l). Fitted by EM with the spam
 * indicator as a second latent variable, which the expected confusion counts are enough to resolve.
 */
export function maceEstimator(pseudoCount = 1): ConfusionEstimator {
  let theta: Float64Array | undefined;
  let xi: Float64Array | undefined;
  return {
    estimate(counts, classCount, confusion) {
      const square = classCount * classCount;
      const workerCount = confusion.length / square;
      theta ??= new Float64Array(workerCount).fill(0.5);
      xi ??= new Float64Array(workerCount * classCount).fill(1 / classCount);
      const spamAt = new Float64Array(classCount);
      for (let w = 0; w < workerCount; w += 1) {
        const t = theta[w] as number;
        let spam = 0;
        let total = 0;
        spamAt.fill(0);
        for (let k = 0; k < classCount; k += 1) {
          for (let l = 0; l < classCount; l += 1) {
            const value = counts[w * square + k * classCount + l] as number;
            total += value;
            // A wrong answer is always spam; a right one is spam with the odds of spamming onto the truth.
            const share =
              k === l ? (t * (xi[w * classCount + l] as number)) / (1 - t + t * (xi[w * classCount + l] as number)) : 1;
            spam += value * share;
            spamAt[l] = (spamAt[l] as number) + value * share;
          }
        }
        theta[w] = (spam + pseudoCount) / (total + 2 * pseudoCount);
        for (let l = 0; l < classCount; l += 1) {
          xi[w * classCount + l] = ((spamAt[l] as number) + pseudoCount / classCount) / (spam + pseudoCount);
        }
        const nextTheta = theta[w] as number;
        for (let k = 0; k < classCount; k += 1) {
          for (let l = 0; l < classCount; l += 1) {
            confusion[w * square + k * classCount + l] =
              nextTheta * (xi[w * classCount + l] as number) + (k === l ? 1 - nextTheta : 0);
          }
        }
      }
    },
  };
}
