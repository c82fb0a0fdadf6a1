import { type Fingerprint, fingerprint, fingerprintSimilarity, sameContentThreshold } from '../verification/similarity';

/**
 * Near-duplicate clustering of a dataset's pages, with the verification rule for "the same page"
 * (`fingerprintSimilarity` ≥ `sameContentThreshold`, see ../verification/README.md), in one pass, in row
 * order, in memory that grows with the number of distinct pages only.
 *
 * Clusters are leader clusters: the first row of a cluster is its leader; each later row joins the most
 * similar earlier leader it matches, or becomes a leader. A row that joins is a near duplicate of an earlier
 * row (first seen wins: dropped when `removeNearDuplicates` is on). Chains do not merge: if B joined A and C
 * is like B but not like A, C leads its own cluster (with B dropped, C has no near duplicate left).
 *
 * Candidates come from an inverted index on each leader's `indexedMinima` smallest shingle hashes (the
 * start of its bottom-k sketch): two pages share the smallest hash of their union with probability equal
 * to their Jaccard similarity, so a pair at the threshold (overlap 0.82 ≈ Jaccard 0.69 for equal sizes)
 * shares none of its 6 first minima with probability about 0.31^6 ≈ 0.1%; exact and lightly edited
 * copies share nearly all of them. Each candidate is confirmed with `fingerprintSimilarity`. A hash
 * that many pages share (boilerplate) is only followed to its `bucketLimit` latest leaders, so a site
 * template cannot make the pass quadratic; the page's other minima still lead to its twin.
 *
 * Memory: per leader its sketch (≤ 128 × 4 bytes) and 5 numbers (20 bytes), plus `indexedMinima` index
 * entries of about 24 bytes each (≈ 680 bytes for an 8 KB page with the defaults); per row 4 bytes of
 * cluster id; nothing per duplicate beyond that. 1M distinct pages need about 0.7 GB: past that, the
 * sketches can move to a file read back per candidate (a candidate is nearly always a true duplicate).
 *
 * Cluster ids of leaders: when a row is added, only earlier rows are known, so a leader whose first
 * duplicate comes later is "alone so far". A build that writes `near_dup_cluster` for every row runs two
 * passes over its rows: the first adds each row (its fingerprint) and keeps the decisions; the second
 * writes the rows, taking `clusterOf(row)`, which is final once every row is added (a leader with members
 * gets its own row number). Only the 4 bytes per row of the first pass are kept between them.
 */

/** What `add` decides for a row, knowing the rows before it. */
export interface NearDuplicateDecision {
  /** The row number of its cluster's first row; null when it matches no earlier row. */
  clusterId: number | null;
  /** Whether it is a near duplicate of an earlier row (removed when the option is on). */
  duplicate: boolean;
  /** Estimated similarity to the cluster's first row; null when alone. */
  similarity: number | null;
}

export interface NearDuplicateOptions {
  /** Smallest shingle hashes of each leader put in the index (default 6). */
  indexedMinima?: number;
  /** Leaders followed per indexed hash, latest first (default 64). */
  bucketLimit?: number;
  /** Similarity from which two pages are the same (default `sameContentThreshold`). */
  threshold?: number;
}

/** Counts for the card and the bench. */
export interface NearDuplicateStats {
  rows: number;
  /** Rows that lead a cluster (distinct pages). */
  leaders: number;
  duplicates: number;
  /** Clusters with at least two rows. */
  clusters: number;
  /** Fingerprint comparisons made (candidates confirmed or refused). */
  comparisons: number;
  /** Index lookups cut short by `bucketLimit`. */
  truncatedBuckets: number;
  /** Bytes held by the index's typed arrays (capacity, not just use). */
  bytes: number;
}

const alone = -1;

/** Clusters pages as they come, in row order (see the module comment). */
export class NearDuplicateIndex {
  private readonly indexedMinima: number;
  private readonly bucketLimit: number;
  private readonly threshold: number;

  /** Per row: its cluster's leader row, or `alone` (a leader whose cluster has members holds its own row). */
  private clusters = new Int32Array(1024).fill(alone);
  private rows = 0;

  /** Per leader: row number, shingle count, sketch offset and length in `sketches`, last row that compared it. */
  private leaderRows = new Int32Array(1024);
  private leaderShingles = new Int32Array(1024);
  private sketchStart = new Int32Array(1024);
  private sketchLength = new Uint8Array(1024);
  private lastCompared = new Int32Array(1024).fill(alone);
  private leaders = 0;
  private sketches = new Uint32Array(1024 * 128);
  private sketchesUsed = 0;

  /** Open addressing from a shingle hash to its latest entry; entries chain to older leaders. */
  private slotKeys = new Uint32Array(1 << 16);
  private slotHeads = new Int32Array(1 << 16).fill(alone);
  private slotsUsed = 0;
  private entryLeader = new Int32Array(4096);
  private entryNext = new Int32Array(4096);
  private entries = 0;

  private duplicates = 0;
  private clustersWithMembers = 0;
  private comparisons = 0;
  private truncatedBuckets = 0;

  constructor(options: NearDuplicateOptions = {}) {
    this.indexedMinima = options.indexedMinima ?? 6;
    this.bucketLimit = options.bucketLimit ?? 64;
    this.threshold = options.threshold ?? sameContentThreshold;
  }

  /** Adds the next row's text (rows numbered 0, 1, 2, … in order) and decides it against earlier rows. */
  add(rowIndex: number, text: string): NearDuplicateDecision {
    return this.addFingerprint(rowIndex, fingerprint(text));
  }

  /** `add` for a fingerprint already made (`fingerprint(text)` of the verification rule). */
  addFingerprint(rowIndex: number, page: Fingerprint): NearDuplicateDecision {
    if (rowIndex !== this.rows) throw new Error(`rows are added in order: expected row ${this.rows}, got ${rowIndex}`);
    this.clusters = ensure(this.clusters, this.rows + 1, alone);
    this.rows += 1;
    let best = alone;
    let bestSimilarity = 0;
    const lookups = Math.min(this.indexedMinima, page.sketch.length);
    for (let m = 0; m < lookups; m += 1) {
      let entry = this.headOf(page.sketch[m] as number);
      for (let followed = 0; entry !== alone; followed += 1, entry = this.entryNext[entry] as number) {
        if (followed === this.bucketLimit) {
          this.truncatedBuckets += 1;
          break;
        }
        const leader = this.entryLeader[entry] as number;
        if (this.lastCompared[leader] === rowIndex) continue;
        this.lastCompared[leader] = rowIndex;
        const similarity = this.similarityTo(leader, page);
        if (similarity >= this.threshold && similarity > bestSimilarity) {
          best = leader;
          bestSimilarity = similarity;
        }
      }
    }
    if (best === alone) {
      // Pages without words have no shingle to index: they never match (exact dedupe still sees them).
      if (page.shingles > 0) this.addLeader(rowIndex, page);
      return { clusterId: null, duplicate: false, similarity: null };
    }
    const leaderRow = this.leaderRows[best] as number;
    if (this.clusters[leaderRow] === alone) {
      this.clusters[leaderRow] = leaderRow;
      this.clustersWithMembers += 1;
    }
    this.clusters[rowIndex] = leaderRow;
    this.duplicates += 1;
    return { clusterId: leaderRow, duplicate: true, similarity: bestSimilarity };
  }

  /** The row's cluster id as `near_dup_cluster`: final once every row is added; null when alone. */
  clusterOf(rowIndex: number): number | null {
    if (!Number.isInteger(rowIndex) || rowIndex < 0 || rowIndex >= this.rows) {
      throw new RangeError(`row ${rowIndex} was not added (${this.rows} rows)`);
    }
    const cluster = this.clusters[rowIndex] as number;
    return cluster === alone ? null : cluster;
  }

  /** What the pass found and what it holds. */
  get stats(): NearDuplicateStats {
    const arrays = [
      this.clusters,
      this.leaderRows,
      this.leaderShingles,
      this.sketchStart,
      this.sketchLength,
      this.lastCompared,
      this.sketches,
      this.slotKeys,
      this.slotHeads,
      this.entryLeader,
      this.entryNext,
    ];
    return {
      rows: this.rows,
      leaders: this.leaders,
      duplicates: this.duplicates,
      clusters: this.clustersWithMembers,
      comparisons: this.comparisons,
      truncatedBuckets: this.truncatedBuckets,
      bytes: arrays.reduce((sum, array) => sum + array.byteLength, 0),
    };
  }

  private similarityTo(leader: number, page: Fingerprint): number {
    const shingles = this.leaderShingles[leader] as number;
    // The measure can never exceed the ratio of the two sizes: skip pairs that cannot reach the threshold.
    if (Math.min(shingles, page.shingles) < this.threshold * Math.max(shingles, page.shingles)) return 0;
    this.comparisons += 1;
    const start = this.sketchStart[leader] as number;
    const sketch = this.sketches.subarray(start, start + (this.sketchLength[leader] as number));
    return fingerprintSimilarity({ shingles, sketch }, page);
  }

  private addLeader(rowIndex: number, page: Fingerprint): void {
    const leader = this.leaders;
    this.leaders += 1;
    const capacity = this.leaders;
    this.leaderRows = ensure(this.leaderRows, capacity, 0);
    this.leaderShingles = ensure(this.leaderShingles, capacity, 0);
    this.sketchStart = ensure(this.sketchStart, capacity, 0);
    this.sketchLength = ensure(this.sketchLength, capacity, 0);
    this.lastCompared = ensure(this.lastCompared, capacity, alone);
    this.sketches = ensure(this.sketches, this.sketchesUsed + page.sketch.length, 0);
    this.leaderRows[leader] = rowIndex;
    this.leaderShingles[leader] = page.shingles;
    this.sketchStart[leader] = this.sketchesUsed;
    // Sketches hold at most `fingerprintHashes` (128) values: a byte holds the length.
    this.sketchLength[leader] = page.sketch.length;
    this.sketches.set(page.sketch, this.sketchesUsed);
    this.sketchesUsed += page.sketch.length;
    const indexed = Math.min(this.indexedMinima, page.sketch.length);
    for (let m = 0; m < indexed; m += 1) this.link(page.sketch[m] as number, leader);
  }

  /** The slot of `key`: where it is, or the empty slot where it goes (linear probing). */
  private slotOf(key: number): number {
    const mask = this.slotKeys.length - 1;
    // Shingle hashes went through a finalizer: their low bits are already uniform.
    let slot = key & mask;
    while (this.slotHeads[slot] !== alone && this.slotKeys[slot] !== key) slot = (slot + 1) & mask;
    return slot;
  }

  private headOf(key: number): number {
    return this.slotHeads[this.slotOf(key)] as number;
  }

  private link(key: number, leader: number): void {
    if ((this.slotsUsed + 1) * 2 > this.slotKeys.length) this.rehash();
    const slot = this.slotOf(key);
    if (this.slotHeads[slot] === alone) {
      this.slotKeys[slot] = key;
      this.slotsUsed += 1;
    }
    this.entryLeader = ensure(this.entryLeader, this.entries + 1, 0);
    this.entryNext = ensure(this.entryNext, this.entries + 1, 0);
    this.entryLeader[this.entries] = leader;
    this.entryNext[this.entries] = this.slotHeads[slot] as number;
    this.slotHeads[slot] = this.entries;
    this.entries += 1;
  }

  /** Doubles the slot table (kept at most half full, so probes stay short). */
  private rehash(): void {
    const keys = this.slotKeys;
    const heads = this.slotHeads;
    this.slotKeys = new Uint32Array(keys.length * 2);
    this.slotHeads = new Int32Array(keys.length * 2).fill(alone);
    for (let slot = 0; slot < keys.length; slot += 1) {
      if (heads[slot] === alone) continue;
      const target = this.slotOf(keys[slot] as number);
      this.slotKeys[target] = keys[slot] as number;
      this.slotHeads[target] = heads[slot] as number;
    }
  }
}

type TypedArray = Int32Array | Uint32Array | Uint8Array;

/** The array itself, or a copy with room for `length` values (growing by half), new values set to `fill`. */
function ensure<T extends TypedArray>(array: T, length: number, fill: number): T {
  if (length <= array.length) return array;
  const grown = new (array.constructor as new (length: number) => T)(Math.max(length, Math.ceil(array.length * 1.5)));
  grown.set(array);
  if (fill !== 0) grown.fill(fill, array.length);
  return grown;
}
