import { BaseError } from '@protocol/errors';
import { betaProbabilityAboveHalf } from './beta-distribution';
import { type LabelerPositionBias, type PositionBiasOptions, positionBias } from './position-bias';
import type { PairwiseLabel } from './types';

export interface BradleyTerryOptions {
  /**
   * Each answer gets this many virtual wins and as many virtual losses against a reference answer of
   * strength 1: a small prior that keeps strengths finite for answers that never lost (or never won)
   * and for comparison graphs that are not connected. Default 1.
   */
  prior?: number;
  maxIterations?: number;
  /** Stop when no log-strength moves by more than this. */
  tolerance?: number;
  positionBias?: PositionBiasOptions;
}

export interface AnswerStrength {
  answer: string;
  /** Log-strength, centred on 0 over all answers: P(i beats j) = 1 / (1 + e^(score_j − score_i)). */
  score: number;
  /** Wins (a tie counts half) and comparisons, from the labels. */
  wins: number;
  comparisons: number;
}

export interface PairwiseItem {
  item: string;
  a: string;
  b: string;
  /** What this item's labelers preferred, ties counting half a vote for each answer. */
  preferred: 'a' | 'b' | 'tie';
  /**
   * P(the crowd prefers `preferred`) from this item's votes alone: P(p > 1/2) under the Beta posterior
   * of p = P(a labeler prefers a) with a Jeffreys prior. 0.5 for a tie.
   */
  confidence: number;
  votes: number;
  ties: number;
  /** (votes for a + ties / 2) / votes. */
  shareA: number;
  /** P(a beats b) from the fitted strengths, pooling every comparison of the two answers. */
  probabilityA: number;
}

export interface BradleyTerryResult {
  method: 'bt';
  /** Strongest first. */
  strengths: AnswerStrength[];
  items: PairwiseItem[];
  positionBias: LabelerPositionBias[];
  iterations: number;
  converged: boolean;
}

interface ItemTally {
  item: string;
  a: number;
  b: number;
  winsA: number;
  winsB: number;
  ties: number;
}

const defaults = { prior: 1, maxIterations: 10_000, tolerance: 1e-9 };

/** Checks each label and tallies votes per item; answers are numbered in order of first appearance. */
function tallyItems(labels: readonly PairwiseLabel[]) {
  const answers: string[] = [];
  const answerIndex = new Map<string, number>();
  const answerOf = (name: string) => {
    let at = answerIndex.get(name);
    if (at === undefined) {
      at = answers.length;
      answers.push(name);
      answerIndex.set(name, at);
    }
    return at;
  };
  const items = new Map<string, ItemTally>();
  const seen = new Set<string>();
  for (const label of labels) {
    if (label.a === label.b) {
      throw new BaseError('bad_request', `Item "${label.item}" compares "${label.a}" with itself.`);
    }
    if (!['a', 'b', 'tie'].includes(label.preferred) || !['a', 'b'].includes(label.shownLeft)) {
      throw new BaseError(
        'bad_request',
        `Worker "${label.worker}" on item "${label.item}": preferred must be a, b or tie and shownLeft a or b.`,
      );
    }
    const key = `${label.item}\u0000${label.worker}`;
    if (seen.has(key)) {
      throw new BaseError('bad_request', `Worker "${label.worker}" labeled item "${label.item}" more than once.`);
    }
    seen.add(key);
    let tally = items.get(label.item);
    if (!tally) {
      tally = { item: label.item, a: answerOf(label.a), b: answerOf(label.b), winsA: 0, winsB: 0, ties: 0 };
      items.set(label.item, tally);
    } else if (answers[tally.a] !== label.a || answers[tally.b] !== label.b) {
      throw new BaseError(
        'bad_request',
        `Item "${label.item}" compares "${answers[tally.a]}" (a) with "${answers[tally.b]}" (b), but worker "${label.worker}" has a = "${label.a}", b = "${label.b}".`,
      );
    }
    if (label.preferred === 'a') tally.winsA += 1;
    else if (label.preferred === 'b') tally.winsB += 1;
    else tally.ties += 1;
  }
  return { answers, items: [...items.values()] };
}

/**
 * Fits strengths π by Hunter's (2004) MM algorithm with ties as half wins:
 * π_i ← (W_i + γ) / (Σ_j n_ij / (π_i + π_j) + 2γ / (π_i + 1)), the γ terms being the prior games
 * against a reference of strength 1. Returns log π.
 */
function fitStrengths(
  answerCount: number,
  items: readonly ItemTally[],
  prior: number,
  maxIterations: number,
  tolerance: number,
) {
  // Comparisons pooled per unordered pair of answers: the loop runs over pairs, not labels.
  const pairIndex = new Map<number, number>();
  const first: number[] = [];
  const second: number[] = [];
  const games: number[] = [];
  const wins = new Float64Array(answerCount);
  const comparisons = new Float64Array(answerCount);
  for (const tally of items) {
    const key = Math.min(tally.a, tally.b) * answerCount + Math.max(tally.a, tally.b);
    let at = pairIndex.get(key);
    if (at === undefined) {
      at = games.length;
      pairIndex.set(key, at);
      first.push(tally.a);
      second.push(tally.b);
      games.push(0);
    }
    const votes = tally.winsA + tally.winsB + tally.ties;
    games[at] = (games[at] as number) + votes;
    wins[tally.a] = (wins[tally.a] as number) + (tally.winsA + tally.ties / 2);
    wins[tally.b] = (wins[tally.b] as number) + (tally.winsB + tally.ties / 2);
    comparisons[tally.a] = (comparisons[tally.a] as number) + votes;
    comparisons[tally.b] = (comparisons[tally.b] as number) + votes;
  }
  const pairI = Int32Array.from(first);
  const pairJ = Int32Array.from(second);
  const pairGames = Float64Array.from(games);
  let strength = new Float64Array(answerCount).fill(1);
  let next = new Float64Array(answerCount);
  const denominator = new Float64Array(answerCount);
  let iterations = 0;
  let converged = false;
  while (iterations < maxIterations) {
    for (let i = 0; i < answerCount; i += 1) denominator[i] = (2 * prior) / ((strength[i] as number) + 1);
    for (let p = 0; p < pairGames.length; p += 1) {
      const i = pairI[p] as number;
      const j = pairJ[p] as number;
      const share = (pairGames[p] as number) / ((strength[i] as number) + (strength[j] as number));
      denominator[i] = (denominator[i] as number) + share;
      denominator[j] = (denominator[j] as number) + share;
    }
    let largestStep = 0;
    for (let i = 0; i < answerCount; i += 1) {
      const value = ((wins[i] as number) + prior) / (denominator[i] as number);
      next[i] = value;
      largestStep = Math.max(largestStep, Math.abs(Math.log(value / (strength[i] as number))));
    }
    [strength, next] = [next, strength];
    iterations += 1;
    if (largestStep <= tolerance) {
      converged = true;
      break;
    }
  }
  const logStrength = strength.map(Math.log);
  let mean = 0;
  for (const value of logStrength) mean += value / answerCount;
  return { scores: logStrength.map((value) => value - mean), wins, comparisons, iterations, converged };
}

function itemResult(tally: ItemTally, answers: readonly string[], scores: Float64Array): PairwiseItem {
  const votes = tally.winsA + tally.winsB + tally.ties;
  const forA = tally.winsA + tally.ties / 2;
  const forB = tally.winsB + tally.ties / 2;
  const aAhead = betaProbabilityAboveHalf(0.5 + forA, 0.5 + forB);
  const preferred = forA > forB ? 'a' : forB > forA ? 'b' : 'tie';
  return {
    item: tally.item,
    a: answers[tally.a] as string,
    b: answers[tally.b] as string,
    preferred,
    confidence: preferred === 'a' ? aAhead : preferred === 'b' ? 1 - aAhead : 0.5,
    votes,
    ties: tally.ties,
    shareA: forA / votes,
    probabilityA: 1 / (1 + Math.exp((scores[tally.b] as number) - (scores[tally.a] as number))),
  };
}

/** Bradley-Terry strengths from pairwise preferences, each item's aggregated preference, and labelers' position bias. */
export function bradleyTerry(labels: readonly PairwiseLabel[], options: BradleyTerryOptions = {}): BradleyTerryResult {
  const prior = options.prior ?? defaults.prior;
  if (!(prior > 0)) throw new BaseError('bad_request', 'Bradley-Terry needs a prior above 0.');
  const { answers, items } = tallyItems(labels);
  const fit = fitStrengths(
    answers.length,
    items,
    prior,
    options.maxIterations ?? defaults.maxIterations,
    options.tolerance ?? defaults.tolerance,
  );
  const strengths = answers
    .map((answer, i) => ({
      answer,
      score: fit.scores[i] as number,
      wins: fit.wins[i] as number,
      comparisons: fit.comparisons[i] as number,
    }))
    .sort((x, y) => y.score - x.score || (x.answer < y.answer ? -1 : 1));
  return {
    method: 'bt',
    strengths,
    items: items.map((tally) => itemResult(tally, answers, fit.scores)),
    positionBias: positionBias(labels, options.positionBias),
    iterations: fit.iterations,
    converged: fit.converged,
  };
}
