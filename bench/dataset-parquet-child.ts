import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { PageRow } from '../protocol/dataset-rows';

/**
 * One measurement in its own process, so its peak RSS is its own: `ours-generated <rows> <out>`,
 * `ours-jsonl <jsonl> <out>`, `duckdb-jsonl <jsonl> <out> [rows per row group]`, `write-jsonl <rows> <out>`
 * or `idle`.
 * Prints one JSON line: { rows, ms, bytes, maxRssMb, wasmMb? }. Our writer (with parquet-wasm and Arrow JS)
 * is imported only in our modes and DuckDB only in its own, so no child carries the other's library.
 */

/** Rows per `writeRows` call: what a database cursor would hand over at a time. */
const batchRows = 500;

const syllables = [
  'ka',
  'lo',
  'mi',
  'ren',
  'to',
  'sa',
  'vel',
  'dor',
  'an',
  'qui',
  'pe',
  'zu',
  'lin',
  'mar',
  'os',
  'te',
];

/** A deterministic PRNG (mulberry32): the same rows on every run and in every process. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Page `index` of the synthetic campaign: about 8 KB of word-like text, compressible like prose. */
export function syntheticPage(index: number): PageRow {
  const next = random(index + 1);
  const words: string[] = [];
  let length = 0;
  while (length < 8000) {
    let word = '';
    const parts = 1 + Math.floor(next() * 3);
    for (let part = 0; part < parts; part += 1) word += syllables[Math.floor(next() * syllables.length)];
    words.push(word);
    length += word.length + 1;
  }
  const text = words.join(' ');
  return {
    url: `https://site-${index % 997}.example/article/${index}`,
    final_url: `https://site-${index % 997}.example/article/${index}`,
    fetched_at: new Date(Date.UTC(2026, 0, 1) + index * 1000).toISOString(),
    http_status: 200,
    content_type: 'text/html; charset=utf-8',
    language: index % 5 === 0 ? null : 'en',
    title: `${words[0]} ${words[1]} ${words[2]}`,
    text,
    word_count: words.length,
    text_sha256: createHash('sha256').update(text).digest('hex'),
    near_dup_cluster: index % 10 === 0 ? index - (index % 100) : null,
    raw_html: null,
    contributor: `c${index % 5000}`,
    verification: 'verified',
  };
}

async function* jsonlRows(path: string): AsyncGenerator<PageRow> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) if (line) yield JSON.parse(line) as PageRow;
}

async function* generatedRows(count: number): AsyncGenerator<PageRow> {
  for (let index = 0; index < count; index += 1) yield syntheticPage(index);
}

type WriterModule = typeof import('../server/src/datasets/parquet-writer');

async function writeOurs({ createParquetWriter }: WriterModule, rows: AsyncIterable<PageRow>, out: string) {
  const writer = createParquetWriter('pages', createWriteStream(out));
  let batch: PageRow[] = [];
  for await (const row of rows) {
    batch.push(row);
    if (batch.length === batchRows) {
      await writer.writeRows(batch);
      batch = [];
    }
  }
  await writer.writeRows(batch);
  return writer.close();
}

/** DuckDB reads the JSONL itself (its fastest path, as the data recipe measured) with the schema spelled out. */
async function writeDuckdb(
  { DuckDBInstance }: typeof import('@duckdb/node-api'),
  jsonl: string,
  out: string,
  rowGroupRows?: number,
) {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  const columns = `{url: 'VARCHAR', final_url: 'VARCHAR', fetched_at: 'TIMESTAMPTZ', http_status: 'INTEGER',
    content_type: 'VARCHAR', language: 'VARCHAR', title: 'VARCHAR', text: 'VARCHAR', word_count: 'INTEGER',
    text_sha256: 'VARCHAR', near_dup_cluster: 'BIGINT', raw_html: 'VARCHAR', contributor: 'VARCHAR',
    verification: 'VARCHAR'}`;
  await connection.run(
    `COPY (SELECT * FROM read_json('${jsonl}', format = 'newline_delimited', columns = ${columns}))
       TO '${out}' (FORMAT parquet, COMPRESSION zstd${rowGroupRows ? `, ROW_GROUP_SIZE ${rowGroupRows}` : ''})`,
  );
  const reader = await connection.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${out}')`);
  const rows = Number(reader.getRowObjectsJS()[0]?.n);
  connection.closeSync();
  return { rows, bytes: (await stat(out)).size };
}

async function writeJsonl(count: number, out: string) {
  const sink = createWriteStream(out);
  for (let index = 0; index < count; index += 1) {
    const line = `${JSON.stringify(syntheticPage(index))}\n`;
    if (!sink.write(line)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve) => sink.end(resolve));
  return { rows: count, bytes: sink.bytesWritten };
}

async function main() {
  const [mode, input = '', out = '', option] = process.argv.slice(2);
  // Each child loads only its own writer, before the clock starts: neither library's memory counts for the other.
  const writerModule: WriterModule | null = mode?.startsWith('ours')
    ? await import('../server/src/datasets/parquet-writer')
    : null;
  const duckdbModule = mode?.startsWith('duckdb') ? await import('@duckdb/node-api') : null;
  const start = performance.now();
  let result: { rows: number; bytes: number };
  if (mode === 'ours-generated')
    result = await writeOurs(writerModule as WriterModule, generatedRows(Number(input)), out);
  else if (mode === 'ours-jsonl') result = await writeOurs(writerModule as WriterModule, jsonlRows(input), out);
  else if (mode === 'duckdb-jsonl')
    result = await writeDuckdb(
      duckdbModule as typeof import('@duckdb/node-api'),
      input,
      out,
      option ? Number(option) : undefined,
    );
  else if (mode === 'write-jsonl') result = await writeJsonl(Number(input), out);
  else if (mode === 'idle') result = { rows: 0, bytes: 0 };
  else throw new Error(`unknown mode ${mode}`);
  const ms = performance.now() - start;
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  // WASM memory never shrinks, so its size now is its peak: the part of our RSS that parquet-wasm holds.
  const wasmMb = mode.startsWith('ours')
    ? (await import('parquet-wasm/node')).wasmMemory().buffer.byteLength / 1024 / 1024
    : undefined;
  process.stdout.write(`${JSON.stringify({ ...result, ms, maxRssMb, wasmMb })}\n`);
}

await main();
