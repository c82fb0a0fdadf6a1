import { normalizeText } from '@protocol/results';

/**
 * The one rule for "are these two copies of a page's extracted text the same page?" (redundant-fetch
 * verification), and page fingerprints for comparing pages without their text. README.md in this folder
 * has the study behind every constant here.
 *
 * A copy is reduced to the set of its word 5-shingles, hashed to 32 bits: text normalized as uploads are
 * hashed (`normalizeText`), lower-cased, split into words of letters and digits, every run of digits
 * counted as the same number, each Han or kana character a word of its own. The similarity of two copies
 * is the share of the larger copy's shingles that the other copy also holds, |A ∩ B| / max(|A|, |B|):
 * text replaced on both sides (related links, a promo line) costs less than in Jaccard, and a copy with
 * fewer than `sameContentThreshold` as many shingles as the other never matches, whatever it holds.
 */

/** Words per shingle. */
export const shingleWords = 5;

/**
 * Copies whose similarity is at least this are the same page. Above 0.8 so that a copy trimmed by a fifth
 * of its characters does not match (such copies score up to 0.811 in the benchmark); the least similar
 * honest pair of the study scores 0.923.
 */
export const sameContentThreshold = 0.82;

/** Shingle hashes kept in a fingerprint. */
export const fingerprintHashes = 128;

export interface ShingleOptions {
  /** Words per shingle (default `shingleWords`). */
  words?: number;
  /** Whether every run of digits is the same word part, so changed dates and counters cost nothing (default true). */
  maskNumbers?: boolean;
}

const fnvOffset = 0x811c9dc5;
const fnvPrime = 0x01000193;

/** What a character is to the word splitter. */
const separator = 1;
const letter = 2;
const digit = 3;
/** Han and kana are written without spaces: each such character is a word of its own. */
const ideograph = 4;

/** Character kinds by code unit, filled on first sight (0: not classified yet). */
const kinds = new Uint8Array(0x10000);
for (let c = 0; c < 0x80; c += 1) {
  kinds[c] = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) ? letter : c >= 0x30 && c <= 0x39 ? digit : separator;
}
const ideographPattern = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
const digitPattern = /\p{N}/u;
const letterPattern = /[\p{L}\p{M}]/u;

function classify(codePoint: number): number {
  const character = String.fromCodePoint(codePoint);
  if (ideographPattern.test(character)) return ideograph;
  if (digitPattern.test(character)) return digit;
  return letterPattern.test(character) ? letter : separator;
}

function kindOf(codePoint: number): number {
  if (codePoint > 0xffff) return classify(codePoint);
  let kind = kinds[codePoint] as number;
  if (kind === 0) {
    kind = classify(codePoint);
    kinds[codePoint] = kind;
  }
  return kind;
}

/**
 * The 32-bit FNV-1a hashes of a text's words, in order. One pass over the characters: on an 8 KB page a
 * regular expression per word costs more than everything else together.
 */
function wordHashes(text: string, maskNumbers: boolean): number[] {
  const prepared = normalizeText(text).toLowerCase();
  const hashes: number[] = [];
  let h = fnvOffset;
  let inWord = false;
  let afterDigit = false;
  for (let i = 0; i < prepared.length; i += 1) {
    let c = prepared.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < prepared.length) {
      const low = prepared.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i += 1;
      }
    }
    const kind = kindOf(c);
    if (kind === separator || kind === ideograph) {
      if (inWord) hashes.push(h >>> 0);
      inWord = false;
      if (kind === ideograph) hashes.push(Math.imul(fnvOffset ^ c, fnvPrime) >>> 0);
      continue;
    }
    if (!inWord) {
      h = fnvOffset;
      inWord = true;
      afterDigit = false;
    }
    if (kind === digit && maskNumbers) {
      if (!afterDigit) h = Math.imul(h ^ 0x30, fnvPrime);
      afterDigit = true;
    } else {
      h = Math.imul(h ^ c, fnvPrime);
      afterDigit = false;
    }
  }
  if (inWord) hashes.push(h >>> 0);
  return hashes;
}

/** MurmurHash3's 32-bit finalizer: a bijection on 32 bits that spreads every input bit over the output. */
function mix32(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A text's word shingles as a set: their 32-bit hashes, distinct and in ascending order. A text with fewer
 * words than a shingle is one shingle of all its words; a text without words is the empty set.
 */
export function shingles(text: string, options: ShingleOptions = {}): Uint32Array {
  const size = options.words ?? shingleWords;
  const words = wordHashes(text, options.maskNumbers ?? true);
  const count = words.length === 0 ? 0 : Math.max(1, words.length - size + 1);
  const hashes = new Uint32Array(count);
  for (let start = 0; start < count; start += 1) {
    // Order-sensitive: the same words in another order make another shingle.
    let h = size;
    const end = Math.min(start + size, words.length);
    for (let i = start; i < end; i += 1) h = Math.imul(h ^ (words[i] as number), 0x5bd1e995) ^ (h >>> 15);
    hashes[start] = mix32(h);
  }
  hashes.sort();
  let distinct = 0;
  for (let i = 0; i < count; i += 1) {
    if (i === 0 || hashes[i] !== hashes[distinct - 1]) hashes[distinct++] = hashes[i] as number;
  }
  return hashes.subarray(0, distinct);
}

/** How many values two ascending arrays of distinct values have in common. */
function commonCount(a: Uint32Array, b: Uint32Array): number {
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as number;
    const y = b[j] as number;
    if (x === y) {
      common += 1;
      i += 1;
      j += 1;
    } else if (x < y) i += 1;
    else j += 1;
  }
  return common;
}

/** |A ∩ B| / max(|A|, |B|) of two shingle sets from `shingles`; two empty sets are the same (1). */
export function shingleSimilarity(a: Uint32Array, b: Uint32Array): number {
  if (a.length === 0 && b.length === 0) return 1;
  return commonCount(a, b) / Math.max(a.length, b.length);
}

/** How alike two copies of a page are, from 0 (no shingle in common) to 1 (the same shingles); symmetric. */
export function textSimilarity(a: string, b: string): number {
  return shingleSimilarity(shingles(a), shingles(b));
}

/** Whether two copies of a page's text are the same page: similarity at least `sameContentThreshold`. */
export function sameContent(a: string, b: string): { same: boolean; similarity: number } {
  const similarity = textSimilarity(a, b);
  return { same: similarity >= sameContentThreshold, similarity };
}

/**
 * A page's text in at most 516 bytes, to compare pages without their text (de-duplication): how many
 * shingles the text has, and its bottom-k MinHash sketch, the `fingerprintHashes` smallest shingle hashes
 * in ascending order (all of them when there are fewer). Fingerprints are comparable only when made by
 * the same rule: a change of shingling or of `fingerprintHashes` means recomputing stored ones.
 */
export interface Fingerprint {
  shingles: number;
  sketch: Uint32Array;
}

/** The fingerprint of a text (see `Fingerprint`). */
export function fingerprint(text: string): Fingerprint {
  return fingerprintOfShingles(shingles(text));
}

/** The fingerprint of a shingle set from `shingles`. */
export function fingerprintOfShingles(set: Uint32Array): Fingerprint {
  // Shingle hashes are uniform 32-bit values, so the smallest of them are a uniform sample of the set.
  return { shingles: set.length, sketch: set.slice(0, fingerprintHashes) };
}

/**
 * Estimated Jaccard similarity |A ∩ B| / |A ∪ B| of two fingerprinted shingle sets: the share of the
 * union's `fingerprintHashes` smallest hashes found in both sketches. Exact when both sets are whole in
 * their sketches (at most `fingerprintHashes` shingles each: pages of up to about 130 words).
 */
export function fingerprintJaccard(a: Fingerprint, b: Fingerprint): number {
  if (a.shingles === 0 || b.shingles === 0) return a.shingles === b.shingles ? 1 : 0;
  const x = a.sketch;
  const y = b.sketch;
  // Two whole sets are compared whole; otherwise only the union's `fingerprintHashes` smallest values
  // are a sample of it. A truncated sketch cannot run out first: each of its values counts in `taken`.
  const whole = x.length === a.shingles && y.length === b.shingles;
  const limit = whole ? x.length + y.length : fingerprintHashes;
  let i = 0;
  let j = 0;
  let taken = 0;
  let common = 0;
  while (taken < limit && (i < x.length || j < y.length)) {
    const u = i < x.length ? (x[i] as number) : Number.POSITIVE_INFINITY;
    const v = j < y.length ? (y[j] as number) : Number.POSITIVE_INFINITY;
    if (u === v) {
      common += 1;
      i += 1;
      j += 1;
    } else if (u < v) i += 1;
    else j += 1;
    taken += 1;
  }
  return common / taken;
}

/** Estimated `textSimilarity` of the two texts behind two fingerprints; symmetric. */
export function fingerprintSimilarity(a: Fingerprint, b: Fingerprint): number {
  if (a.shingles === 0 || b.shingles === 0) return a.shingles === b.shingles ? 1 : 0;
  const jaccard = fingerprintJaccard(a, b);
  // |A ∩ B| = J · |A ∪ B| = J · (|A| + |B| − |A ∩ B|), so |A ∩ B| = J (|A| + |B|) / (1 + J).
  const common = (jaccard * (a.shingles + b.shingles)) / (1 + jaccard);
  return Math.min(1, common / Math.max(a.shingles, b.shingles));
}
