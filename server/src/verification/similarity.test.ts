import { describe, expect, it } from 'vitest';
import { longPagePairs, type PagePair, shortPageLimits, studyPairs, trimmed } from './fixtures/page-pairs';
import {
  fingerprint,
  fingerprintHashes,
  fingerprintJaccard,
  fingerprintSimilarity,
  sameContent,
  sameContentThreshold,
  shingles,
  textSimilarity,
} from './similarity';

const sameSimilarities = studyPairs.filter((pair) => pair.kind === 'same').map((p) => textSimilarity(p.a, p.b));
const alteredSimilarities = studyPairs.filter((pair) => pair.kind === 'altered').map((p) => textSimilarity(p.a, p.b));
const named = (pairs: PagePair[]) => pairs.map((pair) => [`${pair.name} (seed ${pair.seed})`, pair] as const);

function exactJaccard(a: Uint32Array, b: Uint32Array): number {
  const inB = new Set(b);
  const common = a.filter((shingle) => inB.has(shingle)).length;
  return common / (a.length + b.length - common);
}

describe('sameContent on the study pairs', () => {
  it.each(named(studyPairs.filter((pair) => pair.kind === 'same')))('matches an honest refetch: %s', (_, pair) => {
    expect(sameContent(pair.a, pair.b).same).toBe(true);
  });

  it.each(named(studyPairs.filter((pair) => pair.kind === 'altered')))('refuses a fabricated copy: %s', (_, pair) => {
    expect(sameContent(pair.a, pair.b).same).toBe(false);
  });

  it('keeps the threshold at least 0.1 below every same-page pair and 0.05 above every altered pair', () => {
    // The study (README.md): the least similar honest pair is a short page whose "34 minutes ago" became
    // "1 hour ago" (0.923); the most similar fabrication is a short page trimmed by a quarter (0.769).
    const sameMin = Math.min(...sameSimilarities);
    const alteredMax = Math.max(...alteredSimilarities);
    expect(sameMin).toBeGreaterThanOrEqual(sameContentThreshold + 0.1);
    expect(alteredMax).toBeLessThanOrEqual(sameContentThreshold - 0.05);
  });

  it('refuses a long page missing a fifth of its characters, from the end or the middle', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const honest = (longPagePairs(seed)[0] as PagePair).a;
      const end = trimmed(honest, 0.2, 'end');
      const middle = trimmed(honest, 0.2, 'middle');
      expect(sameContent(honest, end).same).toBe(false);
      expect(sameContent(honest, middle).same).toBe(false);
    }
  });

  it('does not recognize a short page whose one copy carries a cookie banner (a documented limit)', () => {
    for (const pair of shortPageLimits(1)) {
      const { same, similarity } = sameContent(pair.a, pair.b);
      expect(same).toBe(false);
      // The 20-word banner on a 50-word page: as much text as a fabricator trimming two fifths.
      expect(similarity).toBeGreaterThan(0.7);
    }
  });

  it('is symmetric', () => {
    for (const pair of studyPairs) expect(textSimilarity(pair.b, pair.a)).toBe(textSimilarity(pair.a, pair.b));
  });
});

describe('textSimilarity', () => {
  const page = (longPagePairs(4)[0] as PagePair).a;

  it('is 1 for identical texts and for texts that differ only in case, spacing or Unicode composition', () => {
    expect(textSimilarity(page, page)).toBe(1);
    expect(textSimilarity('The Café opened  today\n\nin Zürich', 'the cafe\u0301 opened today in zu\u0308rich')).toBe(
      1,
    );
  });

  it('counts every number as the same word, so changed dates and counters cost nothing', () => {
    expect(textSimilarity('Updated 10:42, June 3 · 1,234 views', 'Updated 11:07, June 3 · 1,301 views')).toBe(1);
    expect(textSimilarity('Updated 10:42, June 3', 'Updated 10:42, July 3')).toBe(0);
  });

  it('treats empty texts as the same, and an empty text as nothing like a non-empty one', () => {
    expect(sameContent('', '')).toEqual({ same: true, similarity: 1 });
    expect(sameContent(' \n\t', '')).toEqual({ same: true, similarity: 1 });
    expect(sameContent('', 'Some text')).toEqual({ same: false, similarity: 0 });
    expect(sameContent('…—!', '')).toEqual({ same: true, similarity: 1 });
  });

  it('compares a text shorter than a shingle as one shingle of all its words', () => {
    expect(shingles('Hello world')).toHaveLength(1);
    expect(textSimilarity('Hello, world!', 'hello world')).toBe(1);
    expect(textSimilarity('Hello world', 'Hello there')).toBe(0);
    expect(textSimilarity('Hello world', 'world Hello')).toBe(0);
  });

  it('reads each Han and kana character as a word, so one changed character costs a few shingles', () => {
    const text = '東京都は本日、新しい図書館の建設計画を発表した。完成は来年の春を予定している。';
    const changed = text.replace('春', '秋');
    expect(shingles(text).length).toBe([...text].filter((c) => /[\p{L}]/u.test(c)).length - 4);
    expect(textSimilarity(text, changed)).toBeGreaterThan(sameContentThreshold);
    expect(textSimilarity(text, changed)).toBeLessThan(1);
  });
});

describe('fingerprint', () => {
  it('keeps the smallest shingle hashes, ascending, and all of a short text', () => {
    const long = fingerprint((longPagePairs(4)[0] as PagePair).a);
    expect(long.sketch).toHaveLength(fingerprintHashes);
    expect(long.shingles).toBeGreaterThan(fingerprintHashes);
    expect([...long.sketch]).toEqual([...long.sketch].sort((a, b) => a - b));
    const short = fingerprint('A short note of nine words, posted today.');
    expect(short).toEqual({ shingles: 4, sketch: shingles('A short note of nine words, posted today.') });
  });

  it('is exact for pages small enough to be whole in their sketches', () => {
    for (const pair of studyPairs.filter((p) => p.name.includes('short'))) {
      expect(fingerprintSimilarity(fingerprint(pair.a), fingerprint(pair.b))).toBeCloseTo(
        textSimilarity(pair.a, pair.b),
        12,
      );
    }
  });

  it('estimates Jaccard within 3 standard errors, and textSimilarity within 0.11, on every study pair', () => {
    let worst = 0;
    for (const pair of studyPairs) {
      const [a, b] = [shingles(pair.a), shingles(pair.b)];
      const exact = exactJaccard(a, b);
      const estimate = fingerprintJaccard(fingerprint(pair.a), fingerprint(pair.b));
      // A bottom-k sketch samples the union without replacement: the standard error is at most √(J(1−J)/k),
      // and an estimate moves in steps of 1/k.
      const standardError = Math.sqrt((exact * (1 - exact)) / fingerprintHashes);
      expect(Math.abs(estimate - exact)).toBeLessThanOrEqual(3 * standardError + 1 / fingerprintHashes);
      const similarity = fingerprintSimilarity(fingerprint(pair.a), fingerprint(pair.b));
      worst = Math.max(worst, Math.abs(similarity - textSimilarity(pair.a, pair.b)));
    }
    expect(worst).toBeLessThanOrEqual(0.11);
  });

  it('compares the same way in both directions, and empty fingerprints like empty texts', () => {
    for (const pair of studyPairs.slice(0, 20)) {
      const [a, b] = [fingerprint(pair.a), fingerprint(pair.b)];
      expect(fingerprintSimilarity(b, a)).toBe(fingerprintSimilarity(a, b));
    }
    expect(fingerprintSimilarity(fingerprint(''), fingerprint(''))).toBe(1);
    expect(fingerprintSimilarity(fingerprint(''), fingerprint('Some text'))).toBe(0);
  });
});
