import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { type DatasetRowKind, type LabelRow, labelColumns, type PageRow, pageColumns } from '@protocol/dataset-rows';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createParquetWriter } from './parquet-writer';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Text that ends in multi-byte characters, so a truncated copy never passes for the original. */
function bigText(bytes: number): string {
  const unit = 'Gleaner 收集 données 🌾 ';
  return `${unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit)))}终👋🏽`;
}

function pageRow(index: number, overrides: Partial<PageRow> = {}): PageRow {
  // A hash in the text keeps it from compressing to nothing, as real pages do not.
  const text =
    overrides.text ??
    `Page ${index}: 日本語のテキスト, emoji 🧪🦀, Ελληνικά, combining é, tab\tand newline\n ${Array.from({ length: 8 }, (_, part) => sha256(`${index}:${part}`)).join(' ')}`;
  return {
    url: `https://example.org/page/${index}?q=${encodeURIComponent('ü')}`,
    final_url: `https://example.org/final/${index}`,
    fetched_at: new Date(Date.UTC(2026, 10, 28, 12, 0, 0, index % 1000) + index * 60_000).toISOString(),
    http_status: index % 7 === 0 ? 203 : 200,
    content_type: 'text/html; charset=utf-8',
    language: index % 3 === 0 ? null : index % 3 === 1 ? 'en' : 'zh-Hans',
    title: `标题 ${index}`,
    text,
    word_count: text.split(/\s+/).filter(Boolean).length,
    text_sha256: sha256(text),
    near_dup_cluster: index % 4 === 0 ? null : index % 4 === 1 ? 0 : 2 ** 40 + index,
    raw_html: index % 2 === 0 ? null : `<html><body><p>${text}</p></body></html>`,
    contributor: `c-${(index * 2654435761) % 1000}`,
    verification: ['verified', 'unverified', 'rejected', 'duplicate'][index % 4] as string,
    ...overrides,
  };
}

function pageRows(): PageRow[] {
  const rows: PageRow[] = [];
  for (let index = 0; index < 400; index += 1) rows.push(pageRow(index));
  // Edge cases, each its own row so a mismatch names it.
  rows.push(pageRow(400, { text: '', title: '', language: '', raw_html: '' }));
  rows.push(pageRow(401, { text: bigText(1024 * 1024), raw_html: `<p>${bigText(300_000)}</p>` }));
  rows.push(pageRow(402, { text: '\u0000 null byte and \u2028 line separator' }));
  rows.push(pageRow(403, { fetched_at: '1970-01-01T00:00:00.000Z', http_status: 599, near_dup_cluster: -1 }));
  return rows;
}

function labelRows(): LabelRow[] {
  const rows: LabelRow[] = [];
  for (let index = 0; index < 300; index += 1) {
    const labels = Array.from({ length: index % 5 }, (_, position) => ({
      labeler: `l-${position}-${index}`,
      value: JSON.stringify({ label: position % 2 === 0 ? 'spam' : '非スパム 🙂' }),
      gold_accuracy: position === 1 ? null : (position + 1) / 7,
    }));
    rows.push({
      item_id: `item-${index}`,
      content: JSON.stringify({ text: `内容 ${index} 🧾`, n: index }),
      label: index % 6 === 0 ? null : JSON.stringify('spam'),
      confidence: index % 6 === 0 ? null : 0.5 + (index % 50) / 100,
      method: index % 6 === 0 ? null : 'dawid-skene',
      agreement: labels.length === 0 ? null : 1 / (1 + (index % 3)),
      raw_labels: labels,
    });
  }
  return rows;
}

/** Writes `rows` in uneven batches (1, 2, 3, … rows) so every batch boundary is exercised. */
async function writeFile(
  path: string,
  kind: DatasetRowKind,
  rows: readonly (PageRow | LabelRow)[],
  rowGroupBytes: number,
) {
  const writer = createParquetWriter(kind, createWriteStream(path), { rowGroupBytes });
  let offset = 0;
  for (let size = 1; offset < rows.length; size += 1) {
    await writer.writeRows(rows.slice(offset, offset + size));
    offset += size;
  }
  expect(writer.rows).toBe(rows.length);
  return writer.close();
}

async function query(connection: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRowObjectsJS() as Record<string, unknown>[];
}

/** A value as written, in the shape both readers are compared in (epoch ms, plain numbers, nulls). */
function expected(row: PageRow | LabelRow): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...row };
  if ('fetched_at' in row) copy.fetched_at = Date.parse(row.fetched_at);
  return copy;
}

function normalized(row: Record<string, unknown>, columns: readonly { name: string }[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { name } of columns) {
    const value = row[name];
    out[name] = value instanceof Date ? value.getTime() : typeof value === 'bigint' ? Number(value) : (value ?? null);
  }
  return out;
}

let directory: string;
let duckdb: DuckDBInstance;
let connection: DuckDBConnection;
const pages = pageRows();
const labels = labelRows();
let pagesFile: string;
let labelsFile: string;
let pagesSummary: { rows: number; bytes: number };

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'gleaner-parquet-'));
  duckdb = await DuckDBInstance.create(':memory:');
  connection = await duckdb.connect();
  pagesFile = join(directory, 'pages.parquet');
  labelsFile = join(directory, 'labels.parquet');
  // Small row groups so one file holds several: the bound and the batch joins both get exercised.
  pagesSummary = await writeFile(pagesFile, 'pages', pages, 256 * 1024);
  await writeFile(labelsFile, 'labels', labels, 16 * 1024);
});

afterAll(async () => {
  connection?.closeSync();
  if (!process.env.KEEP) await rm(directory, { recursive: true, force: true });
});

describe('createParquetWriter (pages)', () => {
  it('reports the rows and the exact bytes it wrote', async () => {
    expect(pagesSummary.rows).toBe(pages.length);
    expect(pagesSummary.bytes).toBe((await stat(pagesFile)).size);
  });

  it('declares the columns, types and nullability of the protocol, in order (DuckDB)', async () => {
    const described = await query(connection, `DESCRIBE SELECT * FROM read_parquet('${pagesFile}')`);
    const types: Record<string, string> = {
      string: 'VARCHAR',
      int32: 'INTEGER',
      int64: 'BIGINT',
      timestamp: 'TIMESTAMP WITH TIME ZONE',
    };
    expect(described.map((column) => [column.column_name, column.column_type])).toEqual(
      pageColumns.map((column) => [column.name, types[column.type]]),
    );
    const schema = await query(
      connection,
      `SELECT name, repetition_type, logical_type::VARCHAR AS logical FROM parquet_schema('${pagesFile}') WHERE name <> 'arrow_schema'`,
    );
    expect(schema.map((column) => [column.name, column.repetition_type])).toEqual(
      pageColumns.map((column) => [column.name, column.nullable ? 'OPTIONAL' : 'REQUIRED']),
    );
    const fetchedAt = schema.find((column) => column.name === 'fetched_at');
    expect(fetchedAt?.logical).toMatch(/isAdjustedToUTC=1/);
    expect(fetchedAt?.logical).toMatch(/MILLIS=MilliSeconds\(\)/);
  });

  it('gives back every row exactly as written, in order (DuckDB)', async () => {
    const read = await query(
      connection,
      `SELECT *, sha256(text) AS recomputed FROM read_parquet('${pagesFile}', file_row_number = true) ORDER BY file_row_number`,
    );
    expect(read).toHaveLength(pages.length);
    read.forEach((row, index) => {
      expect(row.file_row_number).toBe(BigInt(index));
      expect(normalized(row, pageColumns), `row ${index}`).toEqual(expected(pages[index] as PageRow));
      // The reader's own sha256 of the text it decoded must match the hash column: nothing cut or re-encoded.
      expect(row.recomputed).toBe(row.text_sha256);
    });
    expect(String(read[401]?.text).length).toBe((pages[401] as PageRow).text.length);
  });

  it('gives back every row exactly as written (hyparquet)', async () => {
    const file = await asyncBufferFromFile(pagesFile);
    const read = await parquetReadObjects({ file, compressors });
    expect(read).toHaveLength(pages.length);
    read.forEach((row, index) => {
      expect(normalized(row, pageColumns), `row ${index}`).toEqual(expected(pages[index] as PageRow));
      expect(sha256(row.text as string)).toBe(row.text_sha256);
    });
  });

  it('splits into zstd row groups near rowGroupBytes, with statistics', async () => {
    const chunks = await query(
      connection,
      `SELECT row_group_id, row_group_num_rows, row_group_bytes, compression, path_in_schema, encodings,
              stats_min_value IS NOT NULL OR stats_null_count IS NOT NULL AS has_stats
         FROM parquet_metadata('${pagesFile}')`,
    );
    const groups = new Map<number, { rows: number; bytes: number }>();
    for (const chunk of chunks) {
      groups.set(Number(chunk.row_group_id), {
        rows: Number(chunk.row_group_num_rows),
        bytes: Number(chunk.row_group_bytes),
      });
    }
    const ordered = [...groups.entries()].sort(([a], [b]) => a - b).map(([, group]) => group);
    expect(ordered.length).toBeGreaterThan(1);
    expect(ordered.reduce((sum, group) => sum + group.rows, 0)).toBe(pages.length);
    // arrow-rs sizes a group from the average row of the batch that opens it, so the bound is an estimate:
    // only the group that took the 1 MB row may go far past it.
    let firstRow = 0;
    for (const group of ordered) {
      const holdsBigRow = firstRow <= 401 && 401 < firstRow + group.rows;
      if (!holdsBigRow) expect(group.bytes).toBeLessThanOrEqual(2 * 256 * 1024);
      firstRow += group.rows;
    }
    expect(new Set(chunks.map((chunk) => chunk.compression))).toEqual(new Set(['ZSTD']));
    expect(chunks.every((chunk) => chunk.has_stats)).toBe(true);
    // Long unique strings are stored plainly, not through a dictionary that would only be thrown away.
    for (const chunk of chunks.filter((c) => ['text', 'raw_html', 'url'].includes(c.path_in_schema as string))) {
      expect(chunk.encodings as string).not.toMatch(/DICTIONARY/);
    }
  });

  it('keeps the column descriptions in the Arrow schema it embeds', async () => {
    const metadata = await parquetMetadataAsync(await asyncBufferFromFile(pagesFile));
    const arrowSchema = metadata.key_value_metadata?.find((entry) => entry.key === 'ARROW:schema')?.value ?? '';
    const decoded = Buffer.from(arrowSchema, 'base64').toString('utf8');
    for (const column of pageColumns) expect(decoded).toContain(column.description);
  });
});

describe('createParquetWriter (labels)', () => {
  it('writes raw_labels as a list of structs with a nullable gold accuracy (DuckDB)', async () => {
    const described = await query(connection, `DESCRIBE SELECT * FROM read_parquet('${labelsFile}')`);
    expect(described.map((column) => [column.column_name, column.column_type])).toEqual([
      ['item_id', 'VARCHAR'],
      ['content', 'VARCHAR'],
      ['label', 'VARCHAR'],
      ['confidence', 'DOUBLE'],
      ['method', 'VARCHAR'],
      ['agreement', 'DOUBLE'],
      ['raw_labels', 'STRUCT(labeler VARCHAR, "value" VARCHAR, gold_accuracy DOUBLE)[]'],
    ]);
    const read = await query(
      connection,
      `SELECT * FROM read_parquet('${labelsFile}', file_row_number = true) ORDER BY file_row_number`,
    );
    expect(read).toHaveLength(labels.length);
    read.forEach((row, index) => {
      expect(normalized(row, labelColumns), `row ${index}`).toEqual(expected(labels[index] as LabelRow));
    });
    const groups = await query(connection, `SELECT DISTINCT row_group_id FROM parquet_metadata('${labelsFile}')`);
    expect(groups.length).toBeGreaterThan(1);
  });

  it('gives back every label row exactly as written (hyparquet)', async () => {
    const read = await parquetReadObjects({ file: await asyncBufferFromFile(labelsFile), compressors });
    expect(read).toHaveLength(labels.length);
    read.forEach((row, index) => {
      expect(normalized(row, labelColumns), `row ${index}`).toEqual(expected(labels[index] as LabelRow));
    });
  });
});

describe('createParquetWriter (edges)', () => {
  it('writes a valid empty file with the full schema when no rows came', async () => {
    const path = join(directory, 'empty.parquet');
    const summary = await createParquetWriter('labels', createWriteStream(path)).close();
    expect(summary.rows).toBe(0);
    const [count] = await query(connection, `SELECT count(*) AS n FROM read_parquet('${path}')`);
    expect(count?.n).toBe(0n);
    const described = await query(connection, `DESCRIBE SELECT * FROM read_parquet('${path}')`);
    expect(described.map((column) => column.column_name)).toEqual(labelColumns.map((column) => column.name));
  });

  it('rejects a null in a required column instead of writing a wrong file', async () => {
    const writer = createParquetWriter('pages', createWriteStream(join(directory, 'bad.parquet')));
    await expect(writer.writeRows([{ ...pageRow(1), title: null as unknown as string }])).rejects.toThrow(/title/);
  });

  it('waits for a slow sink instead of buffering the file in memory', async () => {
    let received = 0;
    let mostBuffered = 0;
    const sink = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        received += chunk.byteLength;
        setTimeout(callback, 5);
      },
    });
    const writer = createParquetWriter('pages', sink, { rowGroupBytes: 64 * 1024 });
    for (let batch = 0; batch < 40; batch += 1) {
      await writer.writeRows(Array.from({ length: 20 }, (_, index) => pageRow(batch * 20 + index)));
      mostBuffered = Math.max(mostBuffered, sink.writableLength);
    }
    const summary = await writer.close();
    expect(received).toBe(summary.bytes);
    // At most about one row group waits in the sink, never the file so far.
    expect(mostBuffered).toBeLessThan(summary.bytes / 4);
  });

  it('keeps a real file advancing when rows come faster than the disk takes them', async () => {
    // Rows already in memory and a tight loop: every step of parquet-wasm resolves on promises alone, so
    // nothing here yields to the event loop unless the writer waits for the file stream itself. Without
    // that wait the stream never even opens its file: all the output queues in its buffer until close()
    // (checked: with neither the output pump's drain wait nor writeRows' own, 0 bytes reached the disk).
    const path = join(directory, 'fast-source.parquet');
    const sink = createWriteStream(path);
    const writer = createParquetWriter('pages', sink, { rowGroupBytes: 64 * 1024 });
    const rows = Array.from({ length: 2000 }, (_, index) => pageRow(index));
    let mostBuffered = 0;
    let onDiskBeforeClose = 0;
    for (let offset = 0; offset < rows.length; offset += 50) {
      await writer.writeRows(rows.slice(offset, offset + 50));
      // Read synchronously: an await here would itself let the stream work and hide the bug.
      mostBuffered = Math.max(mostBuffered, sink.writableLength);
      onDiskBeforeClose = sink.bytesWritten;
    }
    const summary = await writer.close();
    expect(summary.bytes).toBe((await stat(path)).size);
    expect(writer.bytesWritten).toBeGreaterThan(8 * 64 * 1024);
    // The file grew while rows were still being written, and the stream held about a row group, not the file.
    expect(onDiskBeforeClose).toBeGreaterThan(summary.bytes / 2);
    expect(mostBuffered).toBeLessThan(summary.bytes / 4);
    const [count] = await query(connection, `SELECT count(*) AS n FROM read_parquet('${path}')`);
    expect(count?.n).toBe(BigInt(rows.length));
  });

  it('fails the caller, not hangs, when the sink breaks mid-file', async () => {
    let written = 0;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        written += chunk.byteLength;
        callback(written > 100_000 ? new Error('disk full') : null);
      },
    });
    const writer = createParquetWriter('pages', sink, { rowGroupBytes: 64 * 1024 });
    const attempt = async () => {
      for (let batch = 0; batch < 200; batch += 1) {
        await writer.writeRows(Array.from({ length: 20 }, (_, index) => pageRow(batch * 20 + index)));
      }
      await writer.close();
    };
    await expect(attempt()).rejects.toThrow(/disk full/);
  });
});
