import { createHash } from 'node:crypto';
import { normalizeText } from '../protocol/results';
import { seededRandom } from '../server/src/aggregation/synthetic-crowd';
import { NearDuplicateIndex } from '../server/src/datasets/near-duplicates';
import { trimmed } from '../server/src/verification/fixtures/page-pairs';
import { fingerprint } from '../server/src/verification/similarity';
import { article } from './synthetic-site';

/** A generated page: an article with a dated byline and a view counter, as a dataset row's text. */
function page(seed: number, chars: number, day: number, views: number): string {
  const { title, text } = article(seed, chars);
  return `${title}\nPublished 2026-11-${String(day).padStart(2, '0')} 10:42, ${views} views\n${text}`;
}

const megabytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

/**
 * Near-duplicate removal over `pages` generated ~8 KB pages (default 100,000) in row order: of every 100,
 * about 15 are refetches of an earlier page (another date and counter, half with a promo line), 5 exact
 * copies and 3 copies trimmed by 30% (which must not match); the rest are distinct. Time, pages/s, memory
 * and clusters found against planted, side by side with the anchor, exact SHA-256 de-duplication of the
 * normalized text (what `removeExactDuplicates` costs, and all it can find). Pages are generated on the fly
 * (never all held) and generation is timed apart. Brute force is not run here: it is quadratic
 * (5·10^9 comparisons at 100k); the test compares the index with it on 3,000 pages.
 */
export async function benchDatasetNearDuplicates(pages = 100_000): Promise<string> {
  const random = seededRandom(20_261_128);
  const index = new NearDuplicateIndex();
  const hashes = new Set<string>();
  const bases: Array<{ seed: number; chars: number; row: number }> = [];
  const planted = { refetch: 0, exact: 0, trimmed: 0 };
  const plantedClusters = new Set<number>();
  let refetchFound = 0;
  let exactFound = 0;
  let trimmedWrong = 0;
  let exactDuplicates = 0;
  let generateMs = 0;
  let sha256Ms = 0;
  let fingerprintMs = 0;
  let indexMs = 0;
  let bytes = 0;
  const rssBefore = process.resourceUsage().maxRSS * 1024;
  for (let row = 0; row < pages; row += 1) {
    let start = performance.now();
    const draw = random();
    const base = bases.length > 100 ? bases[Math.floor(random() * bases.length)] : undefined;
    let kind: 'distinct' | 'refetch' | 'exact' | 'trimmed' = 'distinct';
    let text: string;
    if (base && draw < 0.15) {
      kind = 'refetch';
      const promo = random() < 0.5 ? '\nAdvertisement. Save 30% on your first year of The Daily Example Premium.' : '';
      text = `${page(base.seed, base.chars, 1 + Math.floor(random() * 28), Math.floor(random() * 99_999))}${promo}`;
    } else if (base && draw < 0.2) {
      kind = 'exact';
      text = page(base.seed, base.chars, 28, 1200);
    } else if (base && draw < 0.23) {
      kind = 'trimmed';
      text = trimmed(page(base.seed, base.chars, 28, 1200), 0.3, random() < 0.5 ? 'end' : 'middle');
    } else {
      const seed = 1_000_000 + row;
      const chars = 7000 + Math.floor(random() * 2000);
      bases.push({ seed, chars, row });
      text = page(seed, chars, 28, 1200);
    }
    bytes += text.length;
    generateMs += performance.now() - start;

    start = performance.now();
    const sha = createHash('sha256').update(normalizeText(text), 'utf8').digest('hex');
    if (hashes.has(sha)) exactDuplicates += 1;
    else hashes.add(sha);
    sha256Ms += performance.now() - start;

    start = performance.now();
    const print = fingerprint(text);
    const middle = performance.now();
    const decision = index.addFingerprint(row, print);
    indexMs += performance.now() - middle;
    fingerprintMs += middle - start;

    if (kind !== 'distinct' && base) {
      planted[kind] += 1;
      const hit = decision.clusterId === base.row;
      if (kind === 'refetch' && hit) refetchFound += 1;
      if (kind === 'exact' && hit) exactFound += 1;
      if (kind === 'trimmed' && hit) trimmedWrong += 1;
      if (kind !== 'trimmed') plantedClusters.add(base.row);
    }
  }
  const rssAfter = process.resourceUsage().maxRSS * 1024;
  const stats = index.stats;
  const nearMs = fingerprintMs + indexMs;
  const rate = (ms: number) => `${Math.round(pages / (ms / 1000)).toLocaleString('en-US')} pages/s`;
  const perLeader = (stats.bytes - 4 * stats.rows) / Math.max(1, stats.leaders);
  return [
    `near-duplicate removal (${pages.toLocaleString('en-US')} generated pages, ${(bytes / pages / 1000).toFixed(1)} KB of text each on average, ${megabytes(bytes)} in all; one run, generation ${(generateMs / 1000).toFixed(1)} s not counted)`,
    `  anchor: exact SHA-256 of the normalized text  ${(sha256Ms / 1000).toFixed(1).padStart(6)} s  ${rate(sha256Ms).padStart(14)}   found ${exactDuplicates.toLocaleString('en-US')} duplicates (planted exact copies: ${planted.exact.toLocaleString('en-US')})`,
    `  near duplicates: fingerprint + index          ${(nearMs / 1000).toFixed(1).padStart(6)} s  ${rate(nearMs).padStart(14)}   (fingerprint ${(fingerprintMs / 1000).toFixed(1)} s, index ${(indexMs / 1000).toFixed(1)} s, ${stats.comparisons.toLocaleString('en-US')} comparisons, ${stats.truncatedBuckets} buckets cut)`,
    `  found: ${stats.duplicates.toLocaleString('en-US')} near duplicates in ${stats.clusters.toLocaleString('en-US')} clusters; planted ${(planted.refetch + planted.exact).toLocaleString('en-US')} in ${plantedClusters.size.toLocaleString('en-US')} clusters`,
    `  planted refetches joined to their page: ${refetchFound}/${planted.refetch}; exact copies: ${exactFound}/${planted.exact}; copies trimmed by 30% wrongly joined: ${trimmedWrong}/${planted.trimmed}`,
    `  memory: index ${megabytes(stats.bytes)} (typed arrays, capacity; ${Math.round(perLeader)} B per distinct page + 4 B per row), process peak RSS ${megabytes(rssAfter)} (${megabytes(rssBefore)} before the run; the SHA-256 set of the anchor counts in it too)`,
  ].join('\n');
}
