import { type ColumnDefinition, columnsOf, type DatasetRowKind } from '@protocol/dataset-rows';
import type { DatasetFile, DatasetOptions, DatasetStats } from '@protocol/datasets';

/**
 * What the dataset card (`README.md`) and the Croissant file (`croissant.json`) say about one built
 * dataset, and the small facts both derive from it: row kind, the files rows are read from, size bucket,
 * license URL. One owner, so the two documents cannot disagree.
 */

/** Everything about a built dataset except its rows. Buyer-given text (names) is untrusted. */
export interface DatasetDescription {
  id: string;
  /** The buyer's name for the dataset. */
  name: string;
  /** The campaign (rows are pages) or labeling project (rows are labels) it was built from. */
  source: { kind: 'campaign' | 'project'; id: string; name: string };
  /** How rows were chosen and cleaned; `options.license` is the license the buyer chose. */
  options: DatasetOptions;
  stats: DatasetStats;
  /** The data files (Parquet shards, JSONL, WARC, CDXJ), not the card or the Croissant file. */
  files: readonly DatasetFile[];
  /** 0x-prefixed Merkle root over the rows' leaves, in file order across shards. */
  merkleRoot: string;
  /** ISO 8601 instant of the snapshot: rows and verification states are as of then. */
  snapshotAt: string;
  /** The Gleaner version that built it. */
  serverVersion: string;
  /** Origin of the server that serves it (`https://gleaner.example`), when known. */
  publicBaseUrl: string | null;
}

/** Pages come from campaigns, labels from labeling projects. */
export function rowKindOf(source: DatasetDescription['source']): DatasetRowKind {
  return source.kind === 'campaign' ? 'pages' : 'labels';
}

/** The fields of one raw label inside `raw_labels`, in their canonical (and Parquet struct) order. */
export const rawLabelFields: readonly ColumnDefinition[] = [
  { name: 'labeler', type: 'string', nullable: false, description: 'Pseudonymous labeler id, keyed per dataset.' },
  { name: 'value', type: 'string', nullable: false, description: 'The label given (JSON).' },
  {
    name: 'gold_accuracy',
    type: 'float64',
    nullable: true,
    description: "The labeler's accuracy on the project's gold items; null when they answered too few.",
  },
];

/** The columns of a dataset's rows, in canonical order. */
export function columnsOfDataset(description: DatasetDescription): readonly ColumnDefinition[] {
  return columnsOf(rowKindOf(description.source));
}

/** The files a reader loads rows from: the Parquet shards when there are any, else the JSONL files. */
export interface RowFiles {
  format: 'parquet' | 'jsonl';
  /** In row order (shard order). */
  files: DatasetFile[];
  /** A glob matching exactly these files (`data/train-*.parquet`), or null when their names share none. */
  pattern: string | null;
}

/** Where the rows are read from; null when the dataset has neither Parquet nor JSONL files. */
export function rowFilesOf(files: readonly DatasetFile[]): RowFiles | null {
  for (const format of ['parquet', 'jsonl'] as const) {
    const matching = files.filter((file) => file.kind === format).sort((a, b) => compareStrings(a.path, b.path));
    if (matching.length > 0) return { format, files: matching, pattern: shardPattern(matching.map((f) => f.path)) };
  }
  return null;
}

const shardName = /^(.*)-\d+-of-\d+(\.[A-Za-z0-9.]+)$/;
const globSpecial = /[*?[\]{}!\\]/;

/**
 * `prefix-*suffix` for shards named `prefix-00000-of-00002suffix`, when every path has the same prefix and
 * suffix; a single file is its own pattern. Null otherwise, or when a path holds glob characters.
 */
export function shardPattern(paths: readonly string[]): string | null {
  if (paths.length === 0 || paths.some((path) => globSpecial.test(path))) return null;
  if (paths.length === 1) return paths[0] as string;
  const parts = paths.map((path) => shardName.exec(path));
  const first = parts[0];
  if (!first || parts.some((part) => !part || part[1] !== first[1] || part[2] !== first[2])) return null;
  return `${first[1]}-*${first[2]}`;
}

/** Hugging Face's `size_categories` bucket for a row count. */
export function sizeCategory(rows: number): string {
  const buckets = ['1K', '10K', '100K', '1M', '10M', '100M', '1B', '10B', '100B', '1T'];
  if (rows < 1_000) return 'n<1K';
  for (let i = 1; i < buckets.length; i += 1) {
    if (rows < 1_000 * 10 ** i) return `${buckets[i - 1]}<n<${buckets[i]}`;
  }
  return 'n>1T';
}

/** Hugging Face license ids that name exactly one SPDX license, with that license's SPDX id. */
const spdxIds: Record<string, string> = {
  'apache-2.0': 'Apache-2.0',
  mit: 'MIT',
  'bsd-2-clause': 'BSD-2-Clause',
  'bsd-3-clause': 'BSD-3-Clause',
  unlicense: 'Unlicense',
  'cc0-1.0': 'CC0-1.0',
  'cc-by-2.0': 'CC-BY-2.0',
  'cc-by-3.0': 'CC-BY-3.0',
  'cc-by-4.0': 'CC-BY-4.0',
  'cc-by-sa-3.0': 'CC-BY-SA-3.0',
  'cc-by-sa-4.0': 'CC-BY-SA-4.0',
  'cc-by-nc-4.0': 'CC-BY-NC-4.0',
  'cc-by-nc-sa-4.0': 'CC-BY-NC-SA-4.0',
  'cc-by-nd-4.0': 'CC-BY-ND-4.0',
  'cc-by-nc-nd-4.0': 'CC-BY-NC-ND-4.0',
  'odc-by': 'ODC-By-1.0',
  odbl: 'ODbL-1.0',
  pddl: 'PDDL-1.0',
  'cdla-permissive-1.0': 'CDLA-Permissive-1.0',
  'cdla-permissive-2.0': 'CDLA-Permissive-2.0',
  'cdla-sharing-1.0': 'CDLA-Sharing-1.0',
  'mpl-2.0': 'MPL-2.0',
  'gpl-3.0': 'GPL-3.0-only',
  'lgpl-3.0': 'LGPL-3.0-only',
  'agpl-3.0': 'AGPL-3.0-only',
};

/** The SPDX page of a Hugging Face license id, or null for `other`, `unknown` and ids without one. */
export function licenseUrl(license: string): string | null {
  const spdx = spdxIds[license];
  return spdx ? `https://spdx.org/licenses/${spdx}.html` : null;
}

/** Byte order, not locale order: paths sort the same on every machine. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
