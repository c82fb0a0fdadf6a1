import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { canonicalRowJson, type LabelRow, type PageRow } from '@protocol/dataset-rows';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createJsonlGzWriter } from './jsonl-writer';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'gleaner-jsonl-test-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

function page(index: number, overrides: Partial<PageRow> = {}): PageRow {
  const text = `Page ${index} text.`;
  return {
    url: `https://example.com/p/${index}`,
    final_url: `https://example.com/p/${index}`,
    fetched_at: '2026-11-28T12:00:00.000Z',
    http_status: 200,
    content_type: 'text/html; charset=utf-8',
    language: 'en',
    title: `Page ${index}`,
    text,
    word_count: 3,
    text_sha256: createHash('sha256').update(text).digest('hex'),
    near_dup_cluster: null,
    raw_html: null,
    contributor: `c${index % 7}`,
    verification: 'verified',
    ...overrides,
  };
}

/** Gunzips the file and splits it on `\n` only, as pandas, pyarrow and `datasets` read JSON Lines. */
async function readLines(path: string): Promise<string[]> {
  const text = gunzipSync(await readFile(path)).toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

describe('createJsonlGzWriter', () => {
  it('writes each row as one line that is exactly its canonical JSON, in column order', async () => {
    const path = join(directory, 'pages.jsonl.gz');
    const writer = createJsonlGzWriter('pages', createWriteStream(path));
    // Keys deliberately out of column order: the line must still follow the columns.
    const shuffled = Object.fromEntries(Object.entries(page(1)).reverse()) as unknown as PageRow;
    await writer.writeRows([shuffled, page(2)]);
    const result = await writer.close();

    const lines = await readLines(path);
    expect(lines).toEqual([canonicalRowJson('pages', page(1)), canonicalRowJson('pages', page(2))]);
    expect(Object.keys(JSON.parse(lines[0] ?? ''))[0]).toBe('url');
    expect(result).toEqual({ rows: 2, bytes: (await stat(path)).size });
  });

  it('keeps text with newlines, CRLFs, control characters, line separators, emoji and other scripts on one line', async () => {
    const path = join(directory, 'hostile.jsonl.gz');
    const writer = createJsonlGzWriter('pages', createWriteStream(path));
    const hostile = [
      page(1, { text: 'first\nsecond\r\n\r\nthird\r' }),
      page(2, { text: 'tab\tbell\u0007escape\u001b del\u007f' }),
      page(3, { text: 'line\u2028separator\u2029paragraph' }),
      page(4, { text: '😀 emoji, 中文, العربية, family 👨‍👩‍👧', title: '"quoted" \\ back' }),
      page(5, { text: '', word_count: 0 }),
      page(6, { raw_html: '<p>\n</p>', language: null, near_dup_cluster: 1 }),
    ];
    await writer.writeRows(hostile);
    await writer.close();

    const lines = await readLines(path);
    expect(lines).toHaveLength(hostile.length);
    for (const [index, line] of lines.entries()) {
      expect(line).toBe(canonicalRowJson('pages', hostile[index] as PageRow));
      expect(JSON.parse(line)).toEqual(hostile[index]);
    }
  });

  it('writes label rows with their raw labels', async () => {
    const path = join(directory, 'labels.jsonl.gz');
    const writer = createJsonlGzWriter('labels', createWriteStream(path));
    const row: LabelRow = {
      item_id: 'i1',
      content: '{"text":"x"}',
      label: '"spam"',
      confidence: 0.9,
      method: 'dawid-skene',
      agreement: 2 / 3,
      raw_labels: [{ labeler: 'l1', value: '"spam"', gold_accuracy: null }],
    };
    await writer.writeRows([row]);
    await writer.close();
    expect(await readLines(path)).toEqual([canonicalRowJson('labels', row)]);
  });

  it('streams many batches through a slow sink without losing or reordering a row', async () => {
    // A sink that takes each chunk only on a later tick, with a tiny buffer: gzip must wait for it.
    const received: Buffer[] = [];
    const slowSink = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, callback) {
        received.push(chunk);
        setTimeout(callback, 0);
      },
    });
    const writer = createJsonlGzWriter('pages', slowSink);
    const rows = Array.from({ length: 3000 }, (_, index) =>
      page(index, {
        text: `${'incompressible '.repeat(10)}${createHash('sha256').update(String(index)).digest('base64')}`,
      }),
    );
    // Not awaited one by one: the writer must still keep the batches in order.
    const writes = [];
    for (let start = 0; start < rows.length; start += 250)
      writes.push(writer.writeRows(rows.slice(start, start + 250)));
    await Promise.all(writes);
    const result = await writer.close();

    const file = Buffer.concat(received);
    expect(result).toEqual({ rows: rows.length, bytes: file.length });
    const lines = gunzipSync(file).toString('utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toEqual(rows.map((row) => canonicalRowJson('pages', row)));
  });

  it('rejects instead of hanging when the sink fails, and fails every later call', async () => {
    const failingSink = new Writable({
      highWaterMark: 16,
      write(_chunk, _encoding, callback) {
        callback(new Error('disk full'));
      },
    });
    const writer = createJsonlGzWriter('pages', failingSink);
    const rows = Array.from({ length: 2000 }, (_, index) => page(index, { text: String(Math.random()).repeat(50) }));
    let failed: unknown = null;
    try {
      for (let start = 0; start < rows.length; start += 100) await writer.writeRows(rows.slice(start, start + 100));
      await writer.close();
    } catch (error) {
      failed = error;
    }
    expect(String(failed)).toContain('disk full');
    await expect(writer.writeRows([page(1)])).rejects.toThrow('disk full');
    await expect(writer.close()).rejects.toThrow('disk full');
  });
});
