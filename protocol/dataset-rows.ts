import { keccak256, stringToBytes } from 'viem';

/**
 * The rows of a dataset, one definition for every writer (Parquet, JSONL, WARC), the card, the Croissant
 * file and the row proofs. Column order is the canonical order: a row's hash is keccak256 of the UTF-8 of
 * `canonicalRowJson(row)`, which a reader recomputes from any format with, in Python,
 * `json.dumps(row, separators=(",", ":"), ensure_ascii=False)` over the columns in this order
 * (timestamps as ISO 8601 UTC strings with milliseconds and `Z`), except that numbers are written as JavaScript's
 * `JSON.stringify` writes them: `1` not `1.0`, `1e-7` not `1e-07` (the dataset card carries a Python function
 * that does this).
 */

export type ColumnType = 'string' | 'int32' | 'int64' | 'float64' | 'timestamp' | 'raw_labels';

export interface ColumnDefinition {
  name: string;
  type: ColumnType;
  nullable: boolean;
  description: string;
}

/** One raw label inside a label row. */
export interface RawLabel {
  labeler: string;
  value: string;
  /** The labeler's accuracy on gold (check) items over all projects as of the snapshot, the rule their pay rests on; null during the warm-up. */
  gold_accuracy: number | null;
}

export interface PageRow {
  url: string;
  final_url: string;
  /** ISO 8601 UTC with milliseconds (`2026-11-28T12:00:00.000Z`). */
  fetched_at: string;
  http_status: number;
  content_type: string;
  language: string | null;
  title: string;
  text: string;
  word_count: number;
  /** sha256 (hex) of the UTF-8 of `text` as published (after any redaction). */
  text_sha256: string;
  /** Rows whose text is nearly the same share an id (the row number of the cluster's first row); null when alone. */
  near_dup_cluster: number | null;
  raw_html: string | null;
  contributor: string;
  verification: string;
}

export interface LabelRow {
  item_id: string;
  content: string;
  label: string | null;
  confidence: number | null;
  method: string | null;
  /** Share of usable raw labels that agree with the aggregated label. */
  agreement: number | null;
  raw_labels: RawLabel[];
}

export const pageColumns: readonly ColumnDefinition[] = [
  { name: 'url', type: 'string', nullable: false, description: 'The URL the campaign asked for.' },
  { name: 'final_url', type: 'string', nullable: false, description: 'The URL after redirects.' },
  { name: 'fetched_at', type: 'timestamp', nullable: false, description: 'When the contributor fetched it (UTC).' },
  { name: 'http_status', type: 'int32', nullable: false, description: 'HTTP status of the final response.' },
  { name: 'content_type', type: 'string', nullable: false, description: 'Content-Type of the final response.' },
  { name: 'language', type: 'string', nullable: true, description: 'Language declared by the page, if any.' },
  { name: 'title', type: 'string', nullable: false, description: 'Page title.' },
  { name: 'text', type: 'string', nullable: false, description: 'Main text extracted in the browser.' },
  { name: 'word_count', type: 'int32', nullable: false, description: 'Words in text.' },
  { name: 'text_sha256', type: 'string', nullable: false, description: 'sha256 (hex) of the UTF-8 of text.' },
  {
    name: 'near_dup_cluster',
    type: 'int64',
    nullable: true,
    description: 'Rows with nearly the same text share this id; null when the row has no near duplicate.',
  },
  { name: 'raw_html', type: 'string', nullable: true, description: 'HTML as fetched, when the campaign kept it.' },
  {
    name: 'contributor',
    type: 'string',
    nullable: false,
    description: 'Pseudonymous contributor id, keyed per dataset (cannot be joined across datasets).',
  },
  {
    name: 'verification',
    type: 'string',
    nullable: false,
    description: 'Verification state at the snapshot: verified, unverified, rejected or duplicate.',
  },
];

export const labelColumns: readonly ColumnDefinition[] = [
  { name: 'item_id', type: 'string', nullable: false, description: "The buyer's id of the item." },
  { name: 'content', type: 'string', nullable: false, description: 'The item as shown to labelers (JSON).' },
  { name: 'label', type: 'string', nullable: true, description: 'The aggregated label (JSON); null if none yet.' },
  { name: 'confidence', type: 'float64', nullable: true, description: 'Posterior confidence of the label.' },
  { name: 'method', type: 'string', nullable: true, description: 'How labels were aggregated.' },
  {
    name: 'agreement',
    type: 'float64',
    nullable: true,
    description: 'Share of raw labels that agree with the aggregated label.',
  },
  {
    name: 'raw_labels',
    type: 'raw_labels',
    nullable: false,
    description:
      'Every label given: pseudonymous labeler id, value (JSON), and the labeler accuracy on gold (check) items as of the snapshot.',
  },
];

export type DatasetRowKind = 'pages' | 'labels';

export function columnsOf(kind: DatasetRowKind): readonly ColumnDefinition[] {
  return kind === 'pages' ? pageColumns : labelColumns;
}

/** The row as canonical JSON: its columns in their defined order, nothing else. */
export function canonicalRowJson(kind: DatasetRowKind, row: PageRow | LabelRow): string {
  const values = row as unknown as Record<string, unknown>;
  const ordered: Record<string, unknown> = {};
  for (const column of columnsOf(kind)) {
    const value = values[column.name];
    ordered[column.name] =
      column.type === 'raw_labels'
        ? (value as RawLabel[]).map((label) => ({
            labeler: label.labeler,
            value: label.value,
            gold_accuracy: label.gold_accuracy,
          }))
        : (value ?? null);
  }
  return JSON.stringify(ordered);
}

/** keccak256 of the UTF-8 of the row's canonical JSON: what the Merkle leaves commit to. */
export function rowHash(kind: DatasetRowKind, row: PageRow | LabelRow): `0x${string}` {
  return keccak256(stringToBytes(canonicalRowJson(kind, row)));
}
