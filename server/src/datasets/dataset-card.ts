import type { ColumnDefinition, ColumnType } from '@protocol/dataset-rows';
import type { DatasetFile } from '@protocol/datasets';
import { stringify } from 'yaml';
import {
  columnsOfDataset,
  type DatasetDescription,
  licenseUrl,
  type RowFiles,
  rawLabelFields,
  rowFilesOf,
  rowKindOf,
  sizeCategory,
} from './dataset-description';

/**
 * The dataset card: `README.md` with the YAML front matter Hugging Face reads (`configs`, `dataset_info`,
 * license, size, tags) and a body that says what the rows are, how they were collected and cleaned, how
 * to check any row against the Merkle root, and how to load the files.
 *
 * Names come from buyers: they reach the YAML only through the `yaml` serializer, and the Markdown only as
 * one escaped line, so no name can end the front matter, open a table cell, or carry HTML.
 */

/** What the card is built from. */
export type DatasetCardInput = DatasetDescription;

/** The card's Markdown, front matter first. */
export function buildDatasetCard(input: DatasetCardInput): string {
  // YAML 1.1 and every string double-quoted: Hugging Face reads the card with PyYAML (YAML 1.1), where a
  // plain `yes`, `12:30`, `=` or `<<` would be a boolean, a number or an error. Without the merge tag,
  // the serializer quotes `<<` like any other string instead of writing it as a merge key.
  const frontMatter = stringify(cardMetadata(input), {
    lineWidth: 0,
    version: '1.1',
    defaultStringType: 'QUOTE_DOUBLE',
    defaultKeyType: 'PLAIN',
    customTags: (tags) => tags.filter((tag) => typeof tag === 'string' || tag.tag !== 'tag:yaml.org,2002:merge'),
  });
  const body = [
    titleSection(input),
    collectionSection(input),
    columnsSection(input),
    cleaningSection(input),
    provenanceSection(input),
    filesSection(input),
    loadingSection(input),
    licenseSection(input),
  ];
  return `---\n${frontMatter}---\n\n${body.join('\n\n')}\n`;
}

/** The front matter as an object (what `yaml.parse` of it gives back). */
export function cardMetadata(input: DatasetCardInput): Record<string, unknown> {
  const kind = rowKindOf(input.source);
  const rowFiles = rowFilesOf(input.files);
  const dataBytes = sum(rowFiles?.files.map((file) => file.bytes) ?? []);
  const metadata: Record<string, unknown> = {
    license: input.options.license,
    pretty_name: oneLine(input.name) || 'Untitled dataset',
    size_categories: [sizeCategory(input.stats.rows)],
    tags: kind === 'pages' ? ['gleaner', 'web-pages', 'crowdsourced'] : ['gleaner', 'labels', 'crowdsourced'],
  };
  if (kind === 'labels') metadata.annotations_creators = ['crowdsourced'];
  if (input.options.languages.length > 0) {
    metadata.language = [...new Set(input.options.languages.map((code) => code.toLowerCase()))];
  }
  if (rowFiles) {
    metadata.configs = [
      {
        config_name: 'default',
        data_files: [{ split: 'train', path: rowFiles.pattern ?? rowFiles.files.map((file) => file.path) }],
      },
    ];
  }
  metadata.dataset_info = {
    features: columnsOfDataset(input).map(hfFeature),
    splits: [{ name: 'train', num_bytes: dataBytes, num_examples: input.stats.rows }],
    download_size: dataBytes,
    dataset_size: dataBytes,
  };
  // Hugging Face ignores keys it does not know; these make provenance and cleaning machine-readable.
  metadata.gleaner = {
    dataset_id: input.id,
    source: { kind: input.source.kind, id: input.source.id, name: oneLine(input.source.name) },
    rows: kind,
    snapshot_at: input.snapshotAt,
    merkle_root: input.merkleRoot,
    server_version: input.serverVersion,
    options: { ...input.options },
    stats: { ...input.stats },
  };
  return metadata;
}

/** Hugging Face `datasets` dtypes, as its YAML names them. */
const hfDtypes: Record<Exclude<ColumnType, 'raw_labels'>, string> = {
  string: 'string',
  int32: 'int32',
  int64: 'int64',
  float64: 'float64',
  timestamp: 'timestamp[ms, tz=UTC]',
};

/** One `dataset_info.features` entry; a list of structs is `list:` with its fields, as `datasets` writes it. */
function hfFeature(column: ColumnDefinition): Record<string, unknown> {
  if (column.type === 'raw_labels') {
    return { name: column.name, list: rawLabelFields.map(hfFeature) };
  }
  return { name: column.name, dtype: hfDtypes[column.type] };
}

function titleSection(input: DatasetCardInput): string {
  const kind = rowKindOf(input.source);
  const what =
    kind === 'pages'
      ? `web pages fetched for the Gleaner campaign ${emphasis(input.source.name)}`
      : `items labeled in the Gleaner labeling project ${emphasis(input.source.name)}`;
  const rows = `${count(input.stats.rows)} ${input.stats.rows === 1 ? 'row' : 'rows'}`;
  return [
    `# ${markdownInline(input.name) || 'Untitled dataset'}`,
    `A frozen snapshot of ${what}: ${rows}, as of ${input.snapshotAt}.`,
    table(
      ['', 'value'],
      [
        ['Dataset id', code(input.id)],
        [`Source ${input.source.kind}`, `${markdownInline(input.source.name)} (${code(input.source.id)})`],
        ['Rows', count(input.stats.rows)],
        ['Snapshot', input.snapshotAt],
        ['License', code(input.options.license)],
        ['Merkle root', code(input.merkleRoot)],
        ['Built by', `Gleaner ${markdownInline(input.serverVersion)}`],
      ],
    ),
  ].join('\n\n');
}

function collectionSection(input: DatasetCardInput): string {
  if (rowKindOf(input.source) === 'labels') {
    return [
      '## How it was collected',
      'Items were labeled by people who installed the Gleaner browser extension and agreed to label, in its popup. ' +
        'Each item was shown to several labelers, who never saw an item twice. Gold items, whose answer the ' +
        "buyer knew, were mixed in unannounced: a labeler's accuracy on them counts after a short warm-up, and " +
        "the labels of a labeler below the project's gold threshold do not count toward the aggregate.",
      'The aggregated label of each item comes from one of these methods, named in the `method` column: ' +
        '`ds` Dawid-Skene (EM over per-labeler confusion matrices, started from majority vote, gold items clamped ' +
        'to their answer) for single-choice labels, `bt` Bradley-Terry for pairwise comparisons, and `mv` majority ' +
        'vote as the fallback and for span sets. `confidence` is the posterior probability (Dawid-Skene), the ' +
        'preference probability (Bradley-Terry) or the winning vote share (majority vote). Every raw label is ' +
        "kept in `raw_labels`, with its labeler's gold accuracy, so the aggregate can be recomputed another way.",
      `Rows: ${input.options.verification === 'verified' ? 'only items whose labels were verified' : 'every item, whatever its verification state'}.`,
    ].join('\n\n');
  }
  return [
    '## How it was collected',
    'Pages were fetched by the browsers of people who installed the Gleaner extension and consented to fetch ' +
      'public pages within a daily bandwidth budget. The extension fetches without cookies or any signed-in ' +
      'state, never from private addresses, and extracts the main text in the browser. The server checks ' +
      'robots.txt (RFC 9309) itself before a URL is ever handed out, and spaces requests per site across all ' +
      'contributors.',
    'Pages are verified by audits drawn at random after upload: another contributor (or the server) fetches ' +
      'the same URL, and the two copies are compared by near-duplicate similarity of their text. A page is ' +
      "verified once it passed an audit itself or enough later audits of its contributor's pages passed; a " +
      "failed audit rejects the contributor's pending pages. The `verification` column gives each row's state at " +
      'the snapshot.',
    `Rows: ${input.options.verification === 'verified' ? 'only verified pages' : 'every stored page, with its verification state'}.`,
  ].join('\n\n');
}

function columnsSection(input: DatasetCardInput): string {
  const rows: string[][] = [];
  for (const column of columnsOfDataset(input)) {
    if (column.type === 'raw_labels') {
      rows.push([code(column.name), 'list of struct', 'no', cell(column.description)]);
      for (const field of rawLabelFields) {
        rows.push([
          code(`${column.name}[].${field.name}`),
          hfDtypes[field.type as Exclude<ColumnType, 'raw_labels'>],
          field.nullable ? 'yes' : 'no',
          cell(field.description),
        ]);
      }
      continue;
    }
    rows.push([code(column.name), hfDtypes[column.type], column.nullable ? 'yes' : 'no', cell(column.description)]);
  }
  return ['## Columns', table(['column', 'type', 'null', 'description'], rows)].join('\n\n');
}

function cleaningSection(input: DatasetCardInput): string {
  const { stats, options } = input;
  const pages = rowKindOf(input.source) === 'pages';
  const steps: [string, number, boolean][] = [
    ['Source rows at the snapshot', stats.sourceRows, true],
    [
      `Removed: not verified (${options.verification === 'verified' ? 'only verified rows kept' : 'all kept'})`,
      stats.notVerified,
      true,
    ],
    [
      `Removed: other language (${options.languages.length > 0 ? `kept ${options.languages.map((language) => language.toLowerCase()).join(', ')}` : 'no filter'})`,
      stats.otherLanguage,
      pages,
    ],
    [`Removed: too short (fewer than ${count(options.minWords)} words)`, stats.tooShort, pages],
    [`Removed: exact duplicates (${options.removeExactDuplicates ? 'on' : 'off'})`, stats.exactDuplicates, pages],
    [`Removed: near duplicates (${options.removeNearDuplicates ? 'on' : 'off'})`, stats.nearDuplicates, pages],
    [`E-mail addresses redacted (${options.redactPii ? 'on' : 'off'})`, stats.emailsRedacted, true],
    [`Phone numbers redacted (${options.redactPii ? 'on' : 'off'})`, stats.phonesRedacted, true],
    ['Rows in the dataset', stats.rows, true],
  ];
  const shown = steps.filter(([, value, applies]) => applies || value > 0);
  return [
    '## Cleaning',
    'Steps ran in this order; each row is counted under the first step that removed it. Redaction replaces ' +
      'e-mail addresses and phone numbers with placeholders and counts the replacements, not the rows.' +
      (pages && !options.removeNearDuplicates ? ' Near duplicates that were kept share a `near_dup_cluster` id.' : ''),
    table(
      ['step', 'count'],
      shown.map(([label, value]) => [label, count(value)]),
    ),
  ].join('\n\n');
}

function provenanceSection(input: DatasetCardInput): string {
  const rowFiles = rowFilesOf(input.files);
  const columns = columnsOfDataset(input).map((column) => column.name);
  return [
    '## Provenance',
    `Merkle root: ${code(input.merkleRoot)}`,
    "Every row is committed to by this root. A row's hash is keccak256 of the UTF-8 of its canonical JSON: " +
      'an object with the columns in the order of the table above and nothing else, no spaces, non-ASCII ' +
      'characters as themselves, timestamps as ISO 8601 UTC strings with milliseconds and `Z`, numbers as ' +
      'JavaScript writes them (`1` rather than `1.0`), `raw_labels` entries with their keys in order. Its leaf ' +
      "is OpenZeppelin StandardMerkleTree's leaf for the value `[rowHash]` of type `bytes32`: " +
      '`keccak256(keccak256(rowHash))`. Leaves are in row order: file order, across shards in shard order. ' +
      'Each level pairs nodes (0, 1), (2, 3), … of the level below, hashing each pair smaller first (as ' +
      "OpenZeppelin's `MerkleProof` does); an odd last node goes up unchanged. A dataset without rows has the " +
      'root `0x` followed by 64 zeros.',
    `To check one row without the others, ask the server that built it for its proof: \`GET /v1/datasets/${input.id}/rows/<n>/proof\` ` +
      '(row `n` counted from 0) returns the row, its hash, its leaf and the sibling hashes; ' +
      "`StandardMerkleTree.verify(root, ['bytes32'], [rowHash], proof)` from `@openzeppelin/merkle-tree`, or " +
      "Solidity's `MerkleProof.verify(proof, root, leaf)`, checks it.",
    'To recompute the root from the files in Python (needs `pyarrow` and `pycryptodome`):',
    fence('python', pythonProvenance(columns, rowFiles)),
  ].join('\n\n');
}

/** Python that recomputes row hashes and the root; its functions are exercised by the card's tests. */
function pythonProvenance(columns: readonly string[], rowFiles: RowFiles | null): string {
  const pattern =
    rowFiles?.format === 'parquet' ? (rowFiles.pattern ?? 'data/train-*.parquet') : 'data/train-*.parquet';
  return `import glob
import json
from datetime import datetime, timezone
from decimal import Decimal

COLUMNS = ${JSON.stringify(columns)}
RAW_LABEL_KEYS = ${JSON.stringify(rawLabelFields.map((field) => field.name))}


def js_number(x):
    """A number as JavaScript's JSON.stringify writes it."""
    if isinstance(x, int):
        return str(x)
    if x != x or x in (float("inf"), float("-inf")):
        return "null"
    sign = "-" if x < 0 else ""
    digits, exponent = Decimal(repr(abs(x))).normalize().as_tuple()[1:]
    s = "".join(map(str, digits))
    k, n = len(s), exponent + len(s)
    if k <= n <= 21:
        return sign + s + "0" * (n - k)
    if 0 < n <= 21:
        return sign + s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + s
    mantissa = s[0] + ("." + s[1:] if k > 1 else "")
    return sign + mantissa + "e" + ("+" if n - 1 >= 0 else "-") + str(abs(n - 1))


def canonical(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return js_number(value)
    if isinstance(value, datetime):
        utc = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return json.dumps(utc.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (utc.microsecond // 1000))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical(v) for k, v in value.items()) + "}"


def canonical_row_json(row):
    ordered = {name: row.get(name) for name in COLUMNS}
    if "raw_labels" in ordered:
        ordered["raw_labels"] = [{key: label.get(key) for key in RAW_LABEL_KEYS} for label in ordered["raw_labels"]]
    return canonical(ordered)


def keccak256(data):
    from Crypto.Hash import keccak

    return keccak.new(digest_bits=256, data=data).digest()


def row_hash(row):
    return keccak256(canonical_row_json(row).encode("utf-8"))


def merkle_root(row_hashes):
    level = [keccak256(keccak256(h)) for h in row_hashes]
    if not level:
        return "0x" + "00" * 32
    while len(level) > 1:
        pairs = [level[i : i + 2] for i in range(0, len(level), 2)]
        level = [keccak256(min(p) + max(p)) if len(p) == 2 else p[0] for p in pairs]
    return "0x" + level[0].hex()


if __name__ == "__main__":
    import pyarrow.parquet as pq

    rows = [row for path in sorted(glob.glob(${JSON.stringify(pattern)})) for row in pq.read_table(path).to_pylist()]
    print(merkle_root([row_hash(row) for row in rows]))`;
}

function filesSection(input: DatasetCardInput): string {
  const files = [...input.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return [
    '## Files',
    'Sizes in bytes; `sha256` of each file as served. `croissant.json` (MLCommons Croissant 1.0) describes the same files and columns.',
    table(
      ['path', 'format', 'rows', 'bytes', 'sha256'],
      files.map((file: DatasetFile) => [
        code(file.path),
        file.kind,
        file.rows === null ? '' : count(file.rows),
        count(file.bytes),
        code(file.sha256),
      ]),
    ),
  ].join('\n\n');
}

function loadingSection(input: DatasetCardInput): string {
  const rowFiles = rowFilesOf(input.files);
  if (!rowFiles) return '## Loading\n\nThis dataset has no Parquet or JSONL files.';
  const pattern = rowFiles.pattern ?? rowFiles.files[0]?.path ?? '';
  const local =
    rowFiles.format === 'parquet'
      ? [
          '# pandas (pip install pandas pyarrow)',
          'import glob',
          'import pandas as pd',
          `df = pd.concat([pd.read_parquet(p) for p in sorted(glob.glob(${JSON.stringify(pattern)}))], ignore_index=True)`,
          '',
          '# DuckDB (pip install duckdb)',
          'import duckdb',
          `rel = duckdb.sql(${JSON.stringify(`SELECT * FROM read_parquet('${pattern}')`)})`,
          '',
          '# Hugging Face datasets (pip install datasets): the folder holding this README, or the files',
          'from datasets import load_dataset',
          `ds = load_dataset("parquet", data_files={"train": ${JSON.stringify(pattern)}}, split="train")`,
        ]
      : [
          '# pandas (pip install pandas)',
          'import glob',
          'import pandas as pd',
          `df = pd.concat([pd.read_json(p, lines=True) for p in sorted(glob.glob(${JSON.stringify(pattern)}))], ignore_index=True)`,
          '',
          '# DuckDB (pip install duckdb)',
          'import duckdb',
          `rel = duckdb.sql(${JSON.stringify(`SELECT * FROM read_json('${pattern}')`)})`,
          '',
          '# Hugging Face datasets (pip install datasets)',
          'from datasets import load_dataset',
          `ds = load_dataset("json", data_files={"train": ${JSON.stringify(pattern)}}, split="train")`,
        ];
  const base = safeOrigin(input.publicBaseUrl);
  const reader =
    rowFiles.format === 'parquet'
      ? [
          'df = pd.concat([pd.read_parquet(u) for u in urls], ignore_index=True)',
          'rel = duckdb.sql(f"SELECT * FROM read_parquet({urls!r})")',
          'ds = load_dataset("parquet", data_files={"train": urls}, split="train")',
        ]
      : [
          'df = pd.concat([pd.read_json(u, lines=True) for u in urls], ignore_index=True)',
          'rel = duckdb.sql(f"SELECT * FROM read_json({urls!r})")',
          'ds = load_dataset("json", data_files={"train": urls}, split="train")',
        ];
  const remote = [
    'import os',
    'import requests',
    '',
    `BASE = ${JSON.stringify(base ?? 'http://127.0.0.1:8787')}${base ? '' : '  # the address of the Gleaner server that built it'}`,
    `DATASET = ${JSON.stringify(input.id)}`,
    'answer = requests.get(f"{BASE}/v1/datasets/{DATASET}/urls", headers={"Authorization": f"Bearer {os.environ[\'GLEANER_API_KEY\']}"})',
    'files = answer.json()["files"]',
    `urls = [f["url"] for f in sorted(files, key=lambda f: f["path"]) if f["path"].endswith(${JSON.stringify(suffixOf(rowFiles))})]`,
    '# the links need no header; they expire (expiresIn, one hour by default)',
    ...reader,
  ];
  return [
    '## Loading',
    'From a local copy of the files:',
    fence('python', local.join('\n')),
    'Straight over HTTP, with pre-signed links from `GET /v1/datasets/<id>/urls` (an API key asks for them once):',
    fence('python', remote.join('\n')),
  ].join('\n\n');
}

function licenseSection(input: DatasetCardInput): string {
  const url = licenseUrl(input.options.license);
  const license = url ? `[${code(input.options.license)}](${url})` : code(input.options.license);
  const lines = [
    '## License',
    `The buyer who built this dataset chose the license ${license} for it.` +
      (rowKindOf(input.source) === 'pages'
        ? ' It covers the dataset as compiled; the text of each page remains subject to the rights of its publisher.'
        : ''),
  ];
  return lines.join('\n\n');
}

/** The file-name ending a reader filters download links by (`.parquet`, `.jsonl.gz`). */
function suffixOf(rowFiles: RowFiles): string {
  const path = rowFiles.files[0]?.path ?? '';
  const match = /(\.[A-Za-z0-9]+(?:\.gz)?)$/.exec(path);
  return match?.[1] ?? (rowFiles.format === 'parquet' ? '.parquet' : '.jsonl');
}

/** A configured origin normalized by the URL parser (which percent-encodes anything odd), or null. */
function safeOrigin(url: string | null): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
    return parsed.href.replace(/\/+$/, '');
  } catch {
    return null;
  }
}

/** Control characters and line or paragraph separators, which would break a line in YAML or Markdown. */
const lineBreaking = /[\p{Cc}\u2028\u2029]/gu;

/** Untrusted text on one line: every control character and run of spaces becomes one space. */
export function oneLine(text: string): string {
  return text.replace(lineBreaking, ' ').replace(/\s+/g, ' ').trim();
}

/**
 * Untrusted text as inline Markdown that shows literally: one line, every character Markdown or a table
 * could read as syntax escaped with a backslash, and `&`, `<`, `>` as entities so no HTML survives.
 */
export function markdownInline(text: string): string {
  return oneLine(text)
    .replace(/[\\`*_[\]()#!|~{}$+\-.:=^"']/g, '\\$&')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

function emphasis(text: string): string {
  const escaped = markdownInline(text);
  return escaped ? `*${escaped}*` : '(unnamed)';
}

/** A code span for trusted text (ids, paths, hashes); a pipe would still end a table cell, so it is escaped. */
function code(text: string): string {
  return `\`${oneLine(text).replace(/`/g, "'").replace(/\|/g, '\\|')}\``;
}

/** Trusted text inside a table cell. */
function cell(text: string): string {
  return oneLine(text).replace(/\|/g, '\\|');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

function fence(language: string, body: string): string {
  return `\`\`\`${language}\n${body}\n\`\`\``;
}

const numberFormat = new Intl.NumberFormat('en-US');

function count(value: number): string {
  return numberFormat.format(value);
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
