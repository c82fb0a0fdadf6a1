import { describe, expect, it } from 'vitest';
import { article } from '../../../bench/synthetic-site';
import { seededRandom } from '../aggregation/synthetic-crowd';
import { longPagePairs, shortPagePairs, trimmed } from '../verification/fixtures/page-pairs';
import { type Fingerprint, fingerprint, fingerprintSimilarity, sameContentThreshold } from '../verification/similarity';
import { NearDuplicateIndex } from './near-duplicates';

function pairDecision(a: string, b: string) {
  const index = new NearDuplicateIndex();
  index.add(0, a);
  const decision = index.add(1, b);
  return { decision, first: index.clusterOf(0), second: index.clusterOf(1) };
}

/** A generated page: an article with a dated byline and view counter. */
function page(seed: number, chars: number, day = 28, views = 1200): string {
  const { title, text } = article(seed, chars);
  return `${title}\nPublished 2026-11-${day} 10:42, ${views} views\n${text}`;
}

describe('NearDuplicateIndex', () => {
  const pairs = [1, 2, 3].flatMap((seed) => [...longPagePairs(seed), ...shortPagePairs(seed)]);

  it.each(pairs.map((pair) => [pair.name, pair.seed, pair] as const))(
    '%s (seed %i): clusters same pages only',
    (_, __, pair) => {
      const { decision, first, second } = pairDecision(pair.a, pair.b);
      if (pair.kind === 'same') {
        expect(decision).toMatchObject({ clusterId: 0, duplicate: true });
        expect([first, second]).toEqual([0, 0]);
      } else {
        expect(decision).toEqual({ clusterId: null, duplicate: false, similarity: null });
        expect([first, second]).toEqual([null, null]);
      }
    },
  );

  it('clusters exact copies and copies with the date changed and a promo line added', () => {
    const base = page(7, 8000);
    const edited = `${page(7, 8000, 29, 1350)}\nAdvertisement. Save 30% on your first year of The Daily Example Premium.`;
    const index = new NearDuplicateIndex();
    expect(index.add(0, base)).toEqual({ clusterId: null, duplicate: false, similarity: null });
    expect(index.add(1, base)).toEqual({ clusterId: 0, duplicate: true, similarity: 1 });
    expect(index.add(2, edited)).toMatchObject({ clusterId: 0, duplicate: true });
    expect(index.stats).toMatchObject({ rows: 3, leaders: 1, duplicates: 2, clusters: 1 });
  });

  it('never clusters a page with a copy trimmed by a fifth, from the end or the middle', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const text = page(seed, 8000);
      for (const where of ['end', 'middle'] as const) {
        expect(pairDecision(text, trimmed(text, 0.2, where)).decision.duplicate).toBe(false);
      }
    }
  });

  it('keeps 500 different pages apart', () => {
    const index = new NearDuplicateIndex();
    for (let row = 0; row < 500; row += 1) index.add(row, page(1000 + row, 500 + (row % 7) * 1000));
    expect(index.stats).toMatchObject({ rows: 500, leaders: 500, duplicates: 0, clusters: 0 });
  });

  it("gives a first row its cluster id once a later duplicate arrives (the build's second pass)", () => {
    const index = new NearDuplicateIndex();
    const base = page(11, 4000);
    expect(index.add(0, base).clusterId).toBeNull();
    index.add(1, page(12, 4000));
    expect(index.clusterOf(0)).toBeNull();
    expect(index.add(2, page(11, 4000, 30, 99)).clusterId).toBe(0);
    expect([0, 1, 2].map((row) => index.clusterOf(row))).toEqual([0, null, 0]);
    expect(() => index.clusterOf(3)).toThrow(RangeError);
  });

  it('joins the earliest cluster of the chain only: a page like the duplicate but not the first leads its own', () => {
    const index = new NearDuplicateIndex();
    const base = page(21, 6000);
    // Each step replaces a tenth of the text (B its end, C its middle): B is like A (0.86) and C like B
    // (0.88), but C is not like A (0.74).
    const b = `${trimmed(base, 0.1, 'end')} ${page(22, 600)}`;
    const c = `${trimmed(b, 0.1, 'middle')} ${page(23, 600)}`;
    index.add(0, base);
    expect(index.add(1, b)).toMatchObject({ clusterId: 0, duplicate: true });
    expect(index.add(2, c)).toEqual({ clusterId: null, duplicate: false, similarity: null });
  });

  it('refuses rows out of order and leaves pages without words alone', () => {
    const index = new NearDuplicateIndex();
    expect(() => index.add(1, 'text')).toThrow(/in order/);
    expect(index.add(0, '')).toMatchObject({ duplicate: false });
    expect(index.add(1, ' … ')).toMatchObject({ duplicate: false });
    expect(index.stats.leaders).toBe(0);
  });

  it('stays bounded when every page shares a long template: buckets are cut, twins still found', () => {
    const template = page(5000, 3000);
    const index = new NearDuplicateIndex();
    let planted = 0;
    let found = 0;
    for (let row = 0; row < 1500; row += 1) {
      const twin = row % 10 === 9;
      const body = page(twin ? 6000 + row - 1 : 6000 + row, 1500);
      const decision = index.add(row, `${template}\n${body}${twin ? '\nShare this article' : ''}`);
      if (twin) planted += 1;
      if (decision.duplicate) found += 1;
    }
    const { comparisons, truncatedBuckets, rows } = index.stats;
    expect(truncatedBuckets).toBeGreaterThan(0);
    // Each row follows at most `indexedMinima` × `bucketLimit` entries.
    expect(comparisons).toBeLessThanOrEqual(rows * 6 * 64);
    expect(found).toBe(planted);
  });

  it('finds what brute force finds on 3,000 generated pages, and nothing under the threshold', () => {
    const random = seededRandom(4242);
    const texts: string[] = [];
    const plantedSame = new Set<number>();
    /** Trimmed copies, by row, with the row of the page they were cut from. */
    const plantedOther = new Map<number, number>();
    const bases: number[] = [];
    const rowOfSeed = new Map<number, number>();
    for (let row = 0; row < 3000; row += 1) {
      const kind = random();
      if (bases.length > 20 && kind < 0.25) {
        const base = bases[Math.floor(random() * bases.length)] as number;
        const [seed, chars] = [base, 400 + (base % 11) * 500];
        const promo = random() < 0.5 ? '\nSponsored. Learn a language in fifteen minutes a day with Linguo.' : '';
        texts.push(`${page(seed, chars, 1 + Math.floor(random() * 28), Math.floor(random() * 9999))}${promo}`);
        plantedSame.add(row);
      } else if (bases.length > 20 && kind < 0.3) {
        const base = bases[Math.floor(random() * bases.length)] as number;
        texts.push(trimmed(page(base, 400 + (base % 11) * 500), 0.3, random() < 0.5 ? 'end' : 'middle'));
        plantedOther.set(row, rowOfSeed.get(base) as number);
      } else {
        const seed = 100_000 + row;
        bases.push(seed);
        rowOfSeed.set(seed, row);
        texts.push(page(seed, 400 + (seed % 11) * 500));
      }
    }
    const prints = texts.map((text) => fingerprint(text));
    const index = new NearDuplicateIndex();
    const found = prints.map((print, row) => index.addFingerprint(row, print));
    // Brute force: the same leader clustering, each page compared with every earlier leader.
    const leaders: Array<{ row: number; print: Fingerprint }> = [];
    const bruteDuplicate = prints.map((print, row) => {
      let best = 0;
      for (const leader of leaders) best = Math.max(best, fingerprintSimilarity(leader.print, print));
      if (best >= sameContentThreshold) return true;
      leaders.push({ row, print });
      return false;
    });
    const truePositives = found.filter((decision, row) => decision.duplicate && bruteDuplicate[row]).length;
    const recall = truePositives / bruteDuplicate.filter(Boolean).length;
    const precision = truePositives / found.filter((decision) => decision.duplicate).length;
    console.info(
      `near duplicates, 3,000 pages: recall ${recall.toFixed(4)}, precision ${precision.toFixed(4)} against brute force; ${plantedSame.size} planted, ${index.stats.comparisons} comparisons`,
    );
    // Every decision is confirmed by the measure itself: nothing under the threshold.
    for (const decision of found) if (decision.duplicate) expect(decision.similarity).toBeGreaterThanOrEqual(0.82);
    expect(precision).toBe(1);
    // A pair at the threshold escapes the index with probability ~0.1%, and planted copies sit far above it.
    expect(recall).toBeGreaterThanOrEqual(0.99);
    for (const row of plantedSame) expect(found[row]?.duplicate).toBe(true);
    // A trimmed copy may duplicate an identical trim made earlier, never the page it was cut from.
    for (const [row, baseRow] of plantedOther) expect(found[row]?.clusterId).not.toBe(baseRow);
  });
});
