import { createHash } from 'node:crypto';
import { normalizeText } from '../protocol/results';
import { seededRandom } from '../server/src/aggregation/synthetic-crowd';
import {
  longPagePairs,
  type PagePair,
  shortPagePairs,
  studyPairs,
  trimmed,
} from '../server/src/verification/fixtures/page-pairs';
import {
  type Fingerprint,
  fingerprintHashes,
  fingerprintOfShingles,
  fingerprintSimilarity,
  sameContent,
  sameContentThreshold,
  shingleSimilarity,
  shingles,
} from '../server/src/verification/similarity';
import { median } from './stats';

/**
 * One way to decide whether two copies are the same page: `prepare` runs once per copy (what a server
 * would store), `compare` once per pair; a pair matches when the score reaches `threshold`.
 */
interface Method {
  name: string;
  prepare: (text: string) => unknown;
  compare: (a: unknown, b: unknown) => number;
  /** null: the midpoint of the fixture gap (for scores with no natural scale, like SimHash's). */
  threshold: number | null;
}

const sha256 = (text: string) => createHash('sha256').update(normalizeText(text), 'utf8').digest('hex');

function commonCount(a: Uint32Array, b: Uint32Array): number {
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      common += 1;
      i += 1;
      j += 1;
    } else if ((a[i] as number) < (b[j] as number)) i += 1;
    else j += 1;
  }
  return common;
}

function jaccard(a: Uint32Array, b: Uint32Array): number {
  if (a.length === 0 && b.length === 0) return 1;
  const common = commonCount(a, b);
  return common / (a.length + b.length - common);
}

/** The candidate the chosen bottom-k sketch is measured against: 128 hash functions, one minimum each. */
const permutationSeeds = (() => {
  const random = seededRandom(0x5eed);
  return Uint32Array.from({ length: fingerprintHashes * 2 }, (_, i) =>
    i % 2 === 1 ? (Math.floor(random() * 2 ** 32) | 1) >>> 0 : Math.floor(random() * 2 ** 32),
  );
})();

function permutationMinHash(set: Uint32Array): { shingles: number; minima: Uint32Array } {
  const minima = new Uint32Array(fingerprintHashes).fill(0xffffffff);
  for (let s = 0; s < set.length; s += 1) {
    const shingle = set[s] as number;
    for (let i = 0; i < fingerprintHashes; i += 1) {
      let h = Math.imul(shingle ^ (permutationSeeds[2 * i] as number), permutationSeeds[2 * i + 1] as number);
      h = (h ^ (h >>> 16)) >>> 0;
      if (h < (minima[i] as number)) minima[i] = h;
    }
  }
  return { shingles: set.length, minima };
}

function permutationSimilarity(
  a: { shingles: number; minima: Uint32Array },
  b: { shingles: number; minima: Uint32Array },
): number {
  if (a.shingles === 0 || b.shingles === 0) return a.shingles === b.shingles ? 1 : 0;
  let equal = 0;
  for (let i = 0; i < fingerprintHashes; i += 1) if (a.minima[i] === b.minima[i]) equal += 1;
  const j = equal / fingerprintHashes;
  return Math.min(1, (j * (a.shingles + b.shingles)) / (1 + j) / Math.max(a.shingles, b.shingles));
}

/** Charikar's SimHash over the shingle set: 64 bits, each the sign of a sum of ±1 over shingles. */
function simHash(set: Uint32Array): [number, number] {
  const counts = new Int32Array(64);
  for (let s = 0; s < set.length; s += 1) {
    const shingle = set[s] as number;
    // Two more 32-bit hashes of the shingle make its 64 bits.
    let high = Math.imul(shingle ^ 0x9e3779b9, 0x85ebca6b);
    high ^= high >>> 13;
    let low = Math.imul(shingle ^ 0x7f4a7c15, 0xc2b2ae35);
    low ^= low >>> 16;
    for (let bit = 0; bit < 32; bit += 1) {
      counts[bit] = (counts[bit] as number) + ((high >>> bit) & 1 ? 1 : -1);
      counts[32 + bit] = (counts[32 + bit] as number) + ((low >>> bit) & 1 ? 1 : -1);
    }
  }
  let high = 0;
  let low = 0;
  for (let bit = 0; bit < 32; bit += 1) {
    if ((counts[bit] as number) > 0) high |= 1 << bit;
    if ((counts[32 + bit] as number) > 0) low |= 1 << bit;
  }
  return [high, low];
}

function popCount(value: number): number {
  let v = value - ((value >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) as number;
}

const methods: Method[] = [
  {
    name: 'SHA-256 equality (anchor)',
    prepare: sha256,
    compare: (a, b) => (a === b ? 1 : 0),
    threshold: 1,
  },
  {
    name: 'exact Jaccard, 5-shingles',
    prepare: (text) => shingles(text),
    compare: (a, b) => jaccard(a as Uint32Array, b as Uint32Array),
    threshold: sameContentThreshold,
  },
  {
    name: 'exact overlap, 3-shingles',
    prepare: (text) => shingles(text, { words: 3 }),
    compare: (a, b) => shingleSimilarity(a as Uint32Array, b as Uint32Array),
    threshold: sameContentThreshold,
  },
  {
    name: 'exact overlap, 4-shingles',
    prepare: (text) => shingles(text, { words: 4 }),
    compare: (a, b) => shingleSimilarity(a as Uint32Array, b as Uint32Array),
    threshold: sameContentThreshold,
  },
  {
    name: 'exact overlap, 5, digits kept',
    prepare: (text) => shingles(text, { maskNumbers: false }),
    compare: (a, b) => shingleSimilarity(a as Uint32Array, b as Uint32Array),
    threshold: sameContentThreshold,
  },
  {
    name: 'exact overlap, 5 (sameContent)',
    prepare: (text) => shingles(text),
    compare: (a, b) => shingleSimilarity(a as Uint32Array, b as Uint32Array),
    threshold: sameContentThreshold,
  },
  {
    name: `bottom-${fingerprintHashes} overlap (fingerprint)`,
    prepare: (text) => fingerprintOfShingles(shingles(text)),
    compare: (a, b) => fingerprintSimilarity(a as Fingerprint, b as Fingerprint),
    threshold: sameContentThreshold,
  },
  {
    name: `${fingerprintHashes}-permutation MinHash`,
    prepare: (text) => permutationMinHash(shingles(text)),
    compare: (a, b) =>
      permutationSimilarity(a as ReturnType<typeof permutationMinHash>, b as ReturnType<typeof permutationMinHash>),
    threshold: sameContentThreshold,
  },
  {
    name: 'SimHash 64, 1 - distance/64',
    prepare: (text) => simHash(shingles(text)),
    compare: (a, b) => {
      const [x, y] = [a as [number, number], b as [number, number]];
      return 1 - (popCount(x[0] ^ y[0]) + popCount(x[1] ^ y[1])) / 64;
    },
    threshold: null,
  },
];

/** The generated set: pairs of long pages (2 to 12 KB of article) and, one page in five, short ones. */
function generatedPairs(perKind: number): PagePair[] {
  const random = seededRandom(20_250_601);
  const same: PagePair[] = [];
  const altered: PagePair[] = [];
  for (let seed = 10_000; same.length < perKind || altered.length < perKind; seed += 1) {
    const pairs = seed % 5 === 0 ? shortPagePairs(seed) : longPagePairs(seed, 2000 + Math.floor(random() * 10_000));
    for (const pair of pairs) (pair.kind === 'same' ? same : altered).push(pair);
  }
  return [...same.slice(0, perKind), ...altered.slice(0, perKind)];
}

const lengthBand = (pair: PagePair) => (pair.a.length < 1000 ? 'short' : pair.a.length < 6000 ? '1-6 KB' : '6-14 KB');

interface Scored {
  pair: PagePair;
  score: number;
}

function score(method: Method, pairs: readonly PagePair[]): Scored[] {
  return pairs.map((pair) => ({ pair, score: method.compare(method.prepare(pair.a), method.prepare(pair.b)) }));
}

const percent = (share: number) => `${(share * 100).toFixed(1)}%`.padStart(6);

/** Microseconds per call of `fn` over `inputs`, median of `runs` runs. */
function microseconds<T>(runs: number, inputs: readonly T[], repeat: number, fn: (input: T) => unknown): number {
  const times: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const start = performance.now();
    for (let r = 0; r < repeat; r += 1) for (const input of inputs) fn(input);
    times.push(((performance.now() - start) * 1000) / (repeat * inputs.length));
  }
  return median(times);
}

/**
 * Which comparison tells an honest second fetch of a page from a fabricated copy: each candidate's
 * separation on the fixed study pairs, its match rate on 2,000 generated same-page pairs and its false
 * match rate on 2,000 altered pairs, and its cost on ~9 KB pages, against the anchor, exact SHA-256
 * equality of the normalized text.
 */
export async function benchSimilarity(): Promise<string> {
  const runs = 5;
  const generated = generatedPairs(2000);
  const lines = [
    `page similarity (study: ${studyPairs.filter((p) => p.kind === 'same').length} same-page and ${studyPairs.filter((p) => p.kind === 'altered').length} altered fixture pairs; generated: 2,000 + 2,000 pairs, other seeds; times: median of ${runs} runs on ~9 KB pages)`,
    '  method                              fixtures: same min  altered max  threshold | generated: same-page match  (short, 1-6 KB, 6-14 KB)  altered false match | µs/page  µs/pair',
  ];
  const costPages = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => longPagePairs(seed)[0] as PagePair);
  const costTexts = costPages.flatMap((pair) => [pair.a, pair.b]);
  for (const method of methods) {
    const study = score(method, studyPairs);
    const sameMin = Math.min(...study.filter((s) => s.pair.kind === 'same').map((s) => s.score));
    const alteredMax = Math.max(...study.filter((s) => s.pair.kind === 'altered').map((s) => s.score));
    const threshold = method.threshold ?? (sameMin > alteredMax ? (sameMin + alteredMax) / 2 : sameMin);
    const scored = score(method, generated);
    const rate = (list: Scored[]) => list.filter((s) => s.score >= threshold).length / Math.max(1, list.length);
    const same = scored.filter((s) => s.pair.kind === 'same');
    const altered = scored.filter((s) => s.pair.kind === 'altered');
    const band = (name: string) => rate(same.filter((s) => lengthBand(s.pair) === name));
    const prepared = costTexts.map((text) => method.prepare(text));
    const preparedPairs = costPages.map((_, i) => [prepared[2 * i], prepared[2 * i + 1]] as const);
    const perPage = microseconds(runs, costTexts, 20, method.prepare);
    const perPair = microseconds(runs, preparedPairs, 200, ([a, b]) => method.compare(a, b));
    lines.push(
      `  ${method.name.padEnd(34)}  ${sameMin.toFixed(3).padStart(17)}  ${alteredMax.toFixed(3).padStart(11)}  ${threshold.toFixed(3).padStart(9)} | ${percent(rate(same)).padStart(25)}  (${percent(band('short'))}, ${percent(band('1-6 KB'))}, ${percent(band('6-14 KB'))})  ${percent(rate(altered)).padStart(19)} | ${perPage.toFixed(1).padStart(7)}  ${perPair.toFixed(2).padStart(7)}`,
    );
  }
  const sameContentMicroseconds = microseconds(runs, costPages, 20, (pair) => sameContent(pair.a, pair.b));
  // What pins the threshold: a copy trimmed by a fifth of its characters must never match.
  let trimmedMax = 0;
  for (const pair of generated.filter((p) => p.name === 'same/timestamp')) {
    for (const where of ['end', 'middle'] as const) {
      trimmedMax = Math.max(trimmedMax, sameContent(pair.a, trimmed(pair.a, 0.2, where)).similarity);
    }
  }
  const misjudged = new Map<string, Array<{ kb: number; similarity: number }>>();
  for (const pair of generated) {
    const { same, similarity } = sameContent(pair.a, pair.b);
    if ((pair.kind === 'same') === same) continue;
    misjudged.set(pair.name, [...(misjudged.get(pair.name) ?? []), { kb: pair.a.length / 1000, similarity }]);
  }
  const range = (values: number[], digits: number) =>
    `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;
  const misjudgedCount = [...misjudged.values()].reduce((sum, list) => sum + list.length, 0);
  const misjudgedList = [...misjudged]
    .map(([name, list]) => {
      const sizes = list.map((m) => m.kb);
      const similarities = list.map((m) => m.similarity);
      return `${list.length} ${name} (${range(sizes, 1)} KB pages, similarity ${range(similarities, 3)})`;
    })
    .join(', ');
  lines.push(
    `  sameContent(a, b) on two texts, shingling both: ${sameContentMicroseconds.toFixed(0)} µs/pair; threshold ${sameContentThreshold}`,
    `  generated long pages trimmed by 20% of their characters (end, middle): max similarity ${trimmedMax.toFixed(3)}`,
    `  sameContent misjudged ${misjudgedCount} of ${generated.length} generated pairs${misjudgedCount ? `: ${misjudgedList}` : ''}`,
    '  µs/page: what a server computes once per copy (hash, shingle set, sketch); µs/pair: comparing two prepared copies',
  );
  return lines.join('\n');
}
