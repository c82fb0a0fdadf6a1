import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  canonicalRowJson,
  type DatasetRowKind,
  type LabelRow,
  labelColumns,
  type PageRow,
  pageColumns,
  rowHash,
} from '@protocol/dataset-rows';
import { bytesToHex, keccak256, stringToBytes } from 'viem';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildDatasetCard, markdownInline } from './dataset-card';
import { describedDataset, describedLabels } from './dataset-card-fixtures';
import { MerkleTreeBuilder } from './merkle';

/** huggingface_hub's own front-matter pattern (repocard.py): the block ends at the first line that is `---`. */
const hfFrontMatter = /^(\s*---[\r\n]+)([\S\s]*?)([\r\n]+---(\r\n|\n|$))/;

function frontMatter(card: string): ReturnType<typeof parse> {
  const match = hfFrontMatter.exec(card);
  if (!match) throw new Error('no front matter');
  return parse(match[2] as string);
}

/** The lines of the Markdown table that follows `heading`. */
function tableAfter(card: string, heading: string): string[] {
  const lines = card.slice(card.indexOf(`\n${heading}\n`)).split('\n');
  const start = lines.findIndex((line) => line.startsWith('|'));
  const end = lines.findIndex((line, index) => index > start && !line.startsWith('|'));
  return lines.slice(start, end);
}

/** Cells of a table row, split only at pipes no backslash escapes (as GFM does). */
function cells(row: string): string[] {
  const out: string[] = [];
  let current = '';
  let backslashes = 0;
  for (const char of row) {
    if (char === '|' && backslashes % 2 === 0) {
      out.push(current);
      current = '';
    } else current += char;
    backslashes = char === '\\' ? backslashes + 1 : 0;
  }
  out.push(current);
  return out.slice(1, -1).map((cell) => cell.trim());
}

/** Body text outside code blocks and code spans (a backslash-escaped backtick opens no span). */
function prose(card: string): string {
  return card.replace(/```[\s\S]*?```/g, '').replace(/(?<!\\)`[^`\n]*`/g, '');
}

describe('the dataset card front matter', () => {
  it('parses and names every page column as a feature with its Hugging Face dtype', () => {
    const meta = frontMatter(buildDatasetCard(describedDataset()));
    const features = meta.dataset_info.features as { name: string; dtype: string }[];
    expect(features.map((feature) => feature.name)).toEqual(pageColumns.map((column) => column.name));
    const dtype = Object.fromEntries(features.map((feature) => [feature.name, feature.dtype]));
    expect(dtype).toMatchObject({
      url: 'string',
      fetched_at: 'timestamp[ms, tz=UTC]',
      http_status: 'int32',
      word_count: 'int32',
      near_dup_cluster: 'int64',
      raw_html: 'string',
    });
    expect(meta.license).toBe('cc-by-4.0');
    expect(meta.size_categories).toEqual(['1K<n<10K']);
    expect(meta.language).toEqual(['en', 'fr']);
    expect(meta.configs).toEqual([
      { config_name: 'default', data_files: [{ split: 'train', path: 'data/train-*.parquet' }] },
    ]);
    expect(meta.task_categories).toBeUndefined();
  });

  it('gives raw_labels as a list of a struct, with each field and dtype', () => {
    const meta = frontMatter(buildDatasetCard(describedLabels()));
    const features = meta.dataset_info.features as Record<string, unknown>[];
    expect(features.map((feature) => feature.name)).toEqual(labelColumns.map((column) => column.name));
    expect(features.find((feature) => feature.name === 'confidence')).toEqual({ name: 'confidence', dtype: 'float64' });
    expect(features.find((feature) => feature.name === 'raw_labels')).toEqual({
      name: 'raw_labels',
      list: [
        { name: 'labeler', dtype: 'string' },
        { name: 'value', dtype: 'string' },
        { name: 'gold_accuracy', dtype: 'float64' },
      ],
    });
    expect(meta.size_categories).toEqual(['n<1K']);
    expect(meta.configs[0].data_files[0].path).toBe('data/train-00000-of-00001.parquet');
  });

  it('counts the split, the download and the cleaning exactly as the stats say', () => {
    const input = describedDataset();
    const meta = frontMatter(buildDatasetCard(input));
    expect(meta.dataset_info.splits).toEqual([{ name: 'train', num_bytes: 5_500_123, num_examples: 2_034 }]);
    expect(meta.dataset_info.download_size).toBe(5_500_123);
    expect(meta.gleaner.stats).toEqual(input.stats);
    expect(meta.gleaner.merkle_root).toBe(input.merkleRoot);
    expect(meta.gleaner.dataset_id).toBe(input.id);
  });
});

describe('the dataset card body', () => {
  it('shows every cleaning count of the stats in its table, in the order the steps ran', () => {
    const input = describedDataset();
    const rows = tableAfter(buildDatasetCard(input), '## Cleaning').slice(2).map(cells);
    const value = (label: string) => {
      const row = rows.find(([first]) => first?.startsWith(label));
      if (!row) throw new Error(`no row ${label}`);
      return Number((row[1] as string).replaceAll(',', ''));
    };
    expect(value('Source rows')).toBe(input.stats.sourceRows);
    expect(value('Removed: not verified')).toBe(input.stats.notVerified);
    expect(value('Removed: other language')).toBe(input.stats.otherLanguage);
    expect(value('Removed: too short')).toBe(input.stats.tooShort);
    expect(value('Removed: exact duplicates')).toBe(input.stats.exactDuplicates);
    expect(value('Removed: near duplicates')).toBe(input.stats.nearDuplicates);
    expect(value('E-mail addresses')).toBe(input.stats.emailsRedacted);
    expect(value('Phone numbers')).toBe(input.stats.phonesRedacted);
    expect(value('Rows in the dataset')).toBe(input.stats.rows);
    expect(rows.map(([label]) => label?.split(' (')[0])).toEqual([
      'Source rows at the snapshot',
      'Removed: not verified',
      'Removed: other language',
      'Removed: too short',
      'Removed: exact duplicates',
      'Removed: near duplicates',
      'E-mail addresses redacted',
      'Phone numbers redacted',
      'Rows in the dataset',
    ]);
  });

  it('leaves out page-only steps of a labels card unless they removed something', () => {
    const quiet = tableAfter(buildDatasetCard(describedLabels()), '## Cleaning').map(cells);
    expect(quiet.some(([label]) => label?.startsWith('Removed: too short'))).toBe(false);
    const base = describedLabels();
    const noisy = tableAfter(
      buildDatasetCard(describedLabels({ stats: { ...base.stats, exactDuplicates: 5 } })),
      '## Cleaning',
    ).map(cells);
    expect(noisy.find(([label]) => label?.startsWith('Removed: exact duplicates'))?.[1]).toBe('5');
  });

  it('describes every column, and every raw label field, in the columns table', () => {
    for (const [input, columns] of [
      [describedDataset(), pageColumns],
      [describedLabels(), labelColumns],
    ] as const) {
      const rows = tableAfter(buildDatasetCard(input), '## Columns').slice(2).map(cells);
      for (const column of columns) {
        const row = rows.find(([name]) => name === `\`${column.name}\``);
        expect(row?.[3], column.name).toBe(column.description);
      }
      expect(rows.every((row) => row.length === 4)).toBe(true);
    }
    const labelRows = tableAfter(buildDatasetCard(describedLabels()), '## Columns').map(cells);
    expect(labelRows.map(([name]) => name)).toContain('`raw_labels[].gold_accuracy`');
  });

  it('lists every file with its size and sha256, and states the Merkle root and how to get a proof', () => {
    const input = describedDataset();
    const card = buildDatasetCard(input);
    const rows = tableAfter(card, '## Files').slice(2).map(cells);
    expect(rows).toHaveLength(input.files.length);
    for (const file of input.files) {
      const row = rows.find(([path]) => path === `\`${file.path}\``);
      expect(row?.[3]?.replaceAll(',', '')).toBe(String(file.bytes));
      expect(row?.[4]).toBe(`\`${file.sha256}\``);
    }
    expect(card).toContain(`Merkle root: \`${input.merkleRoot}\``);
    expect(card).toContain(`GET /v1/datasets/${input.id}/rows/<n>/proof`);
    expect(card).toContain('keccak256(keccak256(rowHash))');
  });

  it('gives loading snippets for pandas, DuckDB and datasets, over JSONL when there is no Parquet', () => {
    const parquet = buildDatasetCard(describedDataset());
    expect(parquet).toContain('pd.read_parquet');
    expect(parquet).toContain("read_parquet('data/train-*.parquet')");
    expect(parquet).toContain('load_dataset("parquet"');
    expect(parquet).toContain('BASE = "https://gleaner.example"');
    const jsonlOnly = describedDataset({ files: describedDataset().files.filter((file) => file.kind === 'jsonl') });
    const card = buildDatasetCard(jsonlOnly);
    expect(card).toContain('load_dataset("json", data_files={"train": "data/train-00000-of-00001.jsonl.gz"}');
    expect(frontMatter(card).configs[0].data_files[0].path).toBe('data/train-00000-of-00001.jsonl.gz');
  });
});

const pyyaml = spawnSync('python3', ['-c', 'import yaml']).status === 0;
if (!pyyaml)
  console.warn('\n!!! python3 with PyYAML not found: the card is NOT checked with the parser Hugging Face uses\n');

describe('buyer-given names in the card', () => {
  const hostile = [
    '---\nlicense: mit\n---\n# Owned',
    'a | b | c',
    'key: value # comment',
    '<script>alert(1)</script><img src=x onerror=alert(1)>',
    '&lt;b&gt; &#60;i&#62;',
    '[click](javascript:alert(1)) *bold* `code` ~~gone~~ $x^2$',
    '\'single\' "double" ! % @ & * ? { } [ ] , > |',
    'line\r\nbreak\u2028sep\u0085next\u0000nul',
    '\\| escaped pipe \\\\| double',
    '   ',
    'true',
    'yes',
    'Off',
    '12:30',
    '0777',
    '=',
    '<<',
    '~',
    '12345',
    '...\n...',
  ];

  it.each(hostile)('keeps the front matter and tables intact for %j', (name) => {
    const input = describedDataset({ name, source: { ...describedDataset().source, name } });
    const card = buildDatasetCard(input);
    const meta = frontMatter(card);
    expect(meta.license).toBe('cc-by-4.0');
    expect(typeof meta.pretty_name).toBe('string');
    expect(meta.pretty_name).toBe(
      name
        .replace(/[\p{Cc}\u2028\u2029]/gu, ' ')
        .replace(/\s+/g, ' ')
        .trim() || 'Untitled dataset',
    );
    expect(meta.gleaner.source.name).toBe(
      name
        .replace(/[\p{Cc}\u2028\u2029]/gu, ' ')
        .replace(/\s+/g, ' ')
        .trim(),
    );
    expect(meta.dataset_info.features).toHaveLength(pageColumns.length);
    if (pyyaml) {
      // What huggingface_hub does: its front-matter pattern, then PyYAML's safe_load (YAML 1.1).
      const result = spawnSync(
        'python3',
        ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read()), default=str))'],
        { input: (hfFrontMatter.exec(card) as RegExpExecArray)[2], encoding: 'utf8' },
      );
      expect(result.status, result.stderr).toBe(0);
      const py = JSON.parse(result.stdout);
      expect(py.pretty_name).toBe(meta.pretty_name);
      expect(py.license).toBe('cc-by-4.0');
      expect(py.dataset_info).toEqual(meta.dataset_info);
      expect(py.gleaner).toEqual(meta.gleaner);
    }

    // The front matter ends where it should: the card's own first heading follows it.
    const afterFrontMatter = card.slice((hfFrontMatter.exec(card) as RegExpExecArray)[0].length);
    expect(afterFrontMatter.trimStart().startsWith('# ')).toBe(true);
    const body = prose(afterFrontMatter);
    // The only headings are the card's own.
    const headings = body.split('\n').filter((line) => /^\s{0,3}#/.test(line));
    expect(headings.slice(1)).toEqual([
      '## How it was collected',
      '## Columns',
      '## Cleaning',
      '## Provenance',
      '## Files',
      '## Loading',
      '## License',
    ]);
    expect(body.split('\n').filter((line) => line.trim() === '---')).toEqual([]);
    // No raw HTML survives.
    expect(body).not.toMatch(/<[a-zA-Z!/]/);
    // Every table row has as many cells as its header.
    const tables = body.split(/\n(?!\|)/).map((block) => block.split('\n').filter((line) => line.startsWith('|')));
    const nonEmpty = tables.filter((table) => table.length > 0);
    expect(nonEmpty).toHaveLength(4);
    for (const table of nonEmpty) {
      const width = cells(table[0] as string).length;
      for (const row of table) expect(cells(row), row).toHaveLength(width);
    }
  });

  it('escapes names so that they read back as the same text', () => {
    const name = 'Q3 *draft* | <b>v1.0</b> [x](y) #1 & co';
    expect(markdownInline(name)).toBe('Q3 \\*draft\\* \\| &lt;b&gt;v1\\.0&lt;/b&gt; \\[x\\]\\(y\\) \\#1 &amp; co');
  });
});

/**
 * The card's Python, run for real: its canonical JSON, row hashes and root must equal the server's. Python
 * has no keccak in its standard library, so a small pure-Python keccak stands in for pycryptodome's module.
 */
const python = spawnSync('python3', ['--version']).status === 0;
if (!python) console.warn("\n!!! python3 not found: the card's Python provenance code is NOT tested\n");

describe.skipIf(!python)("the card's Python provenance code", () => {
  const dir = mkdtempSync(join(tmpdir(), 'gleaner-card-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  mkdirSync(join(dir, 'Crypto', 'Hash'), { recursive: true });
  writeFileSync(join(dir, 'Crypto', '__init__.py'), '');
  writeFileSync(join(dir, 'Crypto', 'Hash', '__init__.py'), '');
  writeFileSync(join(dir, 'Crypto', 'Hash', 'keccak.py'), pureKeccak);

  function runPython(kind: DatasetRowKind, script: string, input: unknown): ReturnType<typeof JSON.parse> {
    const card = buildDatasetCard(kind === 'pages' ? describedDataset() : describedLabels());
    const code = /## Provenance[\s\S]*?```python\n([\s\S]*?)```/.exec(card)?.[1];
    if (!code) throw new Error('no Python in the provenance section');
    writeFileSync(join(dir, `provenance_${kind}.py`), code);
    const result = spawnSync('python3', ['-c', `from provenance_${kind} import *\n${script}`], {
      cwd: dir,
      env: { ...process.env, PYTHONPATH: dir, PYTHONIOENCODING: 'utf-8' },
      input: JSON.stringify(input),
      encoding: 'utf8',
    });
    if (result.status !== 0) throw new Error(result.stderr);
    return JSON.parse(result.stdout);
  }

  it('has a keccak stand-in that agrees with viem', () => {
    const inputs = ['', 'abc', 'x'.repeat(135), 'y'.repeat(136), 'z'.repeat(300)];
    const out = runPython(
      'pages',
      'import sys\nprint(json.dumps([keccak256(s.encode()).hex() for s in json.load(sys.stdin)]))',
      inputs,
    );
    expect(out.map((hex: string) => `0x${hex}`)).toEqual(inputs.map((s) => keccak256(stringToBytes(s))));
  });

  it('writes numbers exactly as JavaScript does', () => {
    const numbers = [
      0,
      -0,
      1,
      -1,
      0.1,
      0.1 + 0.2,
      2 / 3,
      1e-7,
      1.5e-7,
      0.000001,
      0.00001234,
      123.456,
      1e20,
      1e21,
      1.2345e22,
      1.2345678901234568e20,
      5e-324,
      Number.MAX_VALUE,
      0.5,
      100,
      1 / 3,
      4.35,
      1e-6,
      1e-6 * (1 - Number.EPSILON),
    ];
    for (let i = 0; i < 200; i += 1) numbers.push((Math.random() - 0.5) * 10 ** Math.floor(Math.random() * 60 - 30));
    const script = 'import sys\nprint(json.dumps([js_number(float(x)) for x in json.load(sys.stdin)]))';
    expect(runPython('labels', script, numbers.map(String))).toEqual(numbers.map((n) => JSON.stringify(n)));
  });

  const pages: PageRow[] = [
    {
      url: 'https://example.com/a?q="x"',
      final_url: 'https://example.com/a',
      fetched_at: '2026-11-28T12:00:00.123Z',
      http_status: 200,
      content_type: 'text/html; charset=utf-8',
      language: 'fr',
      title: 'Été — “quotes” \\ back\tslash',
      text: 'Ligne 1\nLigne 2 \u0001 </script> 😀 日本語 \u2028 end',
      word_count: 9,
      text_sha256: 'ab'.repeat(32),
      near_dup_cluster: 3,
      raw_html: null,
      contributor: 'c_1',
      verification: 'verified',
    },
    {
      url: 'https://example.com/b',
      final_url: 'https://example.com/b',
      fetched_at: '2026-01-02T03:04:05.000Z',
      http_status: 404,
      content_type: 'text/plain',
      language: null,
      title: '',
      text: 'x',
      word_count: 1,
      text_sha256: 'cd'.repeat(32),
      near_dup_cluster: null,
      raw_html: '<p>x</p>',
      contributor: 'c_2',
      verification: 'unverified',
    },
  ];
  const labels: LabelRow[] = [
    {
      item_id: 'i1',
      content: '{"type":"text","text":"Awful"}',
      label: '{"type":"single_choice","choice":"negative"}',
      confidence: 1,
      method: 'ds',
      agreement: 2 / 3,
      raw_labels: [
        { labeler: 'l1', value: '"negative"', gold_accuracy: 1 },
        { labeler: 'l2', value: '"positive"', gold_accuracy: null },
        { labeler: 'l3', value: '"negative"', gold_accuracy: 0.000001234 },
      ],
    },
    { item_id: 'i2', content: '{}', label: null, confidence: null, method: null, agreement: null, raw_labels: [] },
  ];

  /** What pyarrow's to_pylist gives: datetimes for timestamps, floats for float64 columns. */
  const asPyarrow = `
import sys
from datetime import datetime
rows = json.load(sys.stdin)
for row in rows:
    if row.get("fetched_at"):
        row["fetched_at"] = datetime.fromisoformat(row["fetched_at"])
    for key in ("confidence", "agreement"):
        if row.get(key) is not None:
            row[key] = float(row[key])
    for label in row.get("raw_labels", []):
        if label["gold_accuracy"] is not None:
            label["gold_accuracy"] = float(label["gold_accuracy"])
`;

  async function serverRoot(hashes: `0x${string}`[]): Promise<string> {
    const builder = await MerkleTreeBuilder.create(join(dir, `tree-${hashes.length}-${Math.random()}`));
    for (const hash of hashes) await builder.append(hash);
    return (await builder.finish()).root;
  }

  it.each([
    ['pages', pages],
    ['labels', labels],
  ] as const)('recomputes the canonical JSON, the row hashes and the root of %s rows', async (kind, rows) => {
    // Five rows: an odd count, so a node is carried up unchanged.
    const many = [...rows, ...rows, rows[0]] as (PageRow | LabelRow)[];
    const out = runPython(
      kind,
      `${asPyarrow}
print(json.dumps({
  "json": [canonical_row_json(r) for r in rows],
  "hashes": ["0x" + row_hash(r).hex() for r in rows],
  "root": merkle_root([row_hash(r) for r in rows]),
  "one": merkle_root([row_hash(rows[0])]),
  "none": merkle_root([]),
}, ensure_ascii=False))`,
      many,
    );
    expect(out.json).toEqual(many.map((row) => canonicalRowJson(kind, row)));
    const hashes = many.map((row) => rowHash(kind, row));
    expect(out.hashes).toEqual(hashes);
    expect(out.root).toBe(await serverRoot(hashes));
    expect(out.one).toBe(await serverRoot(hashes.slice(0, 1)));
    expect(out.none).toBe(bytesToHex(new Uint8Array(32)));
  });
});

/** Keccak-256 (the pre-SHA-3 padding Ethereum uses) in plain Python, for the test only. */
const pureKeccak = `
_MASK = (1 << 64) - 1


def _rc_bit(t):
    if t % 255 == 0:
        return 1
    r = 1
    for _ in range(t % 255):
        r <<= 1
        if r & 0x100:
            r ^= 0x171
    return r & 1


_RC = [sum(1 << ((1 << j) - 1) for j in range(7) if _rc_bit(j + 7 * i)) for i in range(24)]
_ROT = [[0] * 5 for _ in range(5)]
_x, _y = 1, 0
for _t in range(24):
    _ROT[_x][_y] = ((_t + 1) * (_t + 2) // 2) % 64
    _x, _y = _y, (2 * _x + 3 * _y) % 5


def _rol(v, n):
    return ((v << n) | (v >> (64 - n))) & _MASK if n else v


def _permute(a):
    for rnd in range(24):
        c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ _rol(c[(x + 1) % 5], 1) for x in range(5)]
        a = [[a[x][y] ^ d[x] for y in range(5)] for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                b[y][(2 * x + 3 * y) % 5] = _rol(a[x][y], _ROT[x][y])
        a = [[b[x][y] ^ ((~b[(x + 1) % 5][y]) & b[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
        a[0][0] ^= _RC[rnd]
    return a


class _Keccak256:
    def __init__(self, data):
        self._data = bytes(data)

    def digest(self):
        rate = 136
        padded = bytearray(self._data + b"\\x01")
        padded += b"\\x00" * (-len(padded) % rate)
        padded[-1] |= 0x80
        a = [[0] * 5 for _ in range(5)]
        for start in range(0, len(padded), rate):
            block = padded[start : start + rate]
            for i in range(rate // 8):
                a[i % 5][i // 5] ^= int.from_bytes(block[8 * i : 8 * i + 8], "little")
            a = _permute(a)
        return b"".join(a[i % 5][i // 5].to_bytes(8, "little") for i in range(4))


def new(digest_bits=256, data=b""):
    assert digest_bits == 256
    return _Keccak256(data)
`;
