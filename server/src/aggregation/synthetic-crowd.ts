import type { CategoricalLabel } from './types';

/** A seeded PRNG (mulberry32): uniform numbers in [0, 1), the same sequence for the same seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * How a synthetic labeler answers: `reliable` gives the truth with probability `accuracy`, else another
 * class at random; `spammer` answers uniformly at random; `adversarial` systematically answers the next
 * class (truth + 1 mod K), a permutation of the labels.
 */
export type LabelerKind = 'reliable' | 'spammer' | 'adversarial';

export interface CrowdOptions {
  seed: number;
  items: number;
  workers: number;
  classes: number;
  labelsPerItem: number;
  /** Share of workers that are spammers, and that are adversarial; the rest are reliable. */
  spammers?: number;
  adversaries?: number;
  /** Reliable workers' accuracy is drawn uniformly from this range. */
  accuracy?: readonly [number, number];
}

export interface SyntheticCrowd {
  classes: string[];
  labels: CategoricalLabel[];
  truth: Map<string, string>;
  kinds: Map<string, LabelerKind>;
}

/** A crowd with known truth: each item gets `labelsPerItem` distinct workers chosen at random. */
export function syntheticCrowd(options: CrowdOptions): SyntheticCrowd {
  const random = seededRandom(options.seed);
  const classCount = options.classes;
  // Names are built once and shared by every label, as a server's rows would be.
  const classes = Array.from({ length: classCount }, (_, k) => `c${k}`);
  const workerNames = Array.from({ length: options.workers }, (_, w) => `w${w}`);
  const spammerCount = Math.round((options.spammers ?? 0) * options.workers);
  const adversaryCount = Math.round((options.adversaries ?? 0) * options.workers);
  const [low, high] = options.accuracy ?? [0.7, 0.9];
  const kind: LabelerKind[] = [];
  const accuracy = new Float64Array(options.workers);
  for (let w = 0; w < options.workers; w += 1) {
    kind.push(w < spammerCount ? 'spammer' : w < spammerCount + adversaryCount ? 'adversarial' : 'reliable');
    accuracy[w] = low + (high - low) * random();
  }

  const labels: CategoricalLabel[] = new Array(options.items * options.labelsPerItem);
  const truth = new Map<string, string>();
  const lastItem = new Int32Array(options.workers).fill(-1);
  let n = 0;
  for (let i = 0; i < options.items; i += 1) {
    const item = `i${i}`;
    const k = Math.floor(random() * classCount);
    truth.set(item, classes[k] as string);
    for (let j = 0; j < options.labelsPerItem; j += 1) {
      let w = Math.floor(random() * options.workers);
      while (lastItem[w] === i) w = Math.floor(random() * options.workers);
      lastItem[w] = i;
      let answer: number;
      if (kind[w] === 'spammer') answer = Math.floor(random() * classCount);
      else if (kind[w] === 'adversarial') answer = (k + 1) % classCount;
      else if (random() < (accuracy[w] as number)) answer = k;
      else answer = (k + 1 + Math.floor(random() * (classCount - 1))) % classCount;
      labels[n] = { worker: workerNames[w] as string, item, label: classes[answer] as string };
      n += 1;
    }
  }
  return { classes, labels, truth, kinds: new Map(workerNames.map((name, w) => [name, kind[w] as LabelerKind])) };
}

/** Share of items whose aggregated label equals the truth. */
export function accuracyAgainst(
  items: ReadonlyArray<{ item: string; label: string }>,
  truth: ReadonlyMap<string, string>,
) {
  let correct = 0;
  for (const result of items) if (truth.get(result.item) === result.label) correct += 1;
  return correct / items.length;
}
