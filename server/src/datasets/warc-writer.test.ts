import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import type { PageRow } from '@protocol/dataset-rows';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CDXIndexer, WARCParser, type WARCRecord } from 'warcio';
import { surtKey } from './surt';
import { createWarcWriter } from './warc-writer';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'gleaner-warc-test-'));
});
afterEach(async () => {
  await rm(directory, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

function page(index: number, overrides: Partial<PageRow> = {}): PageRow {
  const text = overrides.text ?? `Page ${index} text.`;
  return {
    url: `https://example.com/p/${index}`,
    final_url: `https://example.com/p/${index}`,
    fetched_at: `2026-11-28T12:00:${String(index % 60).padStart(2, '0')}.250Z`,
    http_status: 200,
    content_type: 'text/html; charset=windows-1252',
    language: 'en',
    title: `Page ${index}`,
    text,
    word_count: 3,
    text_sha256: sha256(text),
    near_dup_cluster: null,
    raw_html: null,
    contributor: `c${index % 7}`,
    verification: 'verified',
    ...overrides,
  };
}

interface ReadRecord {
  record: WARCRecord;
  type: string;
  header: (name: string) => string | null;
  payload: Buffer;
}

/** Reads every record with warcio, decoding UTF-8 header values warcio keeps as Latin-1. */
async function readWarc(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<ReadRecord[]> {
  const records: ReadRecord[] = [];
  for await (const record of new WARCParser(source)) {
    const payload = Buffer.from(await record.readFully());
    const reencoded = record.warcHeaders.reencodeHeaders ?? new Set<string>();
    const header = (name: string) => {
      const value = record.warcHeaders.headers.get(name);
      if (value == null) return null;
      return reencoded.has(name.toLowerCase()) ? Buffer.from(value, 'latin1').toString('utf8') : value;
    };
    records.push({ record, type: record.warcType ?? '', header, payload });
  }
  return records;
}

async function writeWarc(
  rows: PageRow[],
  options: { cdxjMemoryBudget?: number; tempDirectory?: string } = {},
  name = 'pages',
) {
  const warcPath = join(directory, `${name}.warc.gz`);
  const cdxjPath = join(directory, `${name}.cdxj`);
  const writer = createWarcWriter(createWriteStream(warcPath), {
    datasetId: 'ds-123',
    software: 'Gleaner test',
    filename: 'pages.warc.gz',
    createdAt: '2026-12-01T00:00:00.000Z',
    cdxjSink: createWriteStream(cdxjPath),
    ...options,
  });
  for (const row of rows) await writer.writePage(row);
  const result = await writer.close();
  return { warcPath, cdxjPath, result };
}

function parseCdxjLine(line: string) {
  const firstSpace = line.indexOf(' ');
  const secondSpace = line.indexOf(' ', firstSpace + 1);
  return {
    key: line.slice(0, firstSpace),
    timestamp: line.slice(firstSpace + 1, secondSpace),
    fields: JSON.parse(line.slice(secondSpace + 1)) as Record<string, string>,
  };
}

describe('createWarcWriter', () => {
  it('starts with a warcinfo record that says the records are reconstructed from browser fetches', async () => {
    const { warcPath, result } = await writeWarc([]);
    const records = await readWarc(createReadStream(warcPath));
    expect(records).toHaveLength(1);
    const [info] = records;
    expect(info?.record.warcHeaders.protocol).toBe('WARC/1.1');
    expect(info?.type).toBe('warcinfo');
    expect(info?.header('Content-Type')).toBe('application/warc-fields');
    expect(info?.header('WARC-Filename')).toBe('pages.warc.gz');
    expect(info?.header('WARC-Date')).toBe('2026-12-01T00:00:00.000Z');
    expect(info?.header('WARC-Block-Digest')).toBe(`sha256:${sha256(info?.payload ?? '')}`);
    const fields = info?.payload.toString('utf8') ?? '';
    expect(fields).toContain('isPartOf: ds-123\r\n');
    expect(fields).toContain('software: Gleaner test\r\n');
    expect(fields).toMatch(/reconstructed server-side from fetches made by contributors' web browsers/);
    expect(fields).toMatch(/No raw HTTP exchange was captured/);
    expect(result).toEqual({ records: 1, bytes: (await stat(warcPath)).size, cdxjLines: 0, cdxjBytes: 0 });
  });

  it('writes a page without HTML as one conversion record whose digests are the text sha256', async () => {
    const row = page(1, { final_url: 'https://example.com/final?b=2&a=1', http_status: 203, language: null });
    const { warcPath } = await writeWarc([row]);
    const [info, conversion, ...rest] = await readWarc(createReadStream(warcPath));
    expect(rest).toEqual([]);
    expect(conversion?.type).toBe('conversion');
    expect(conversion?.payload.toString('utf8')).toBe(row.text);
    expect(conversion?.header('WARC-Target-URI')).toBe(row.final_url);
    expect(conversion?.header('WARC-Date')).toBe(row.fetched_at);
    expect(conversion?.header('WARC-Record-ID')).toMatch(/^<urn:uuid:[0-9a-f-]{36}>$/);
    expect(conversion?.header('WARC-Warcinfo-ID')).toBe(info?.header('WARC-Record-ID'));
    expect(conversion?.header('Content-Type')).toBe('text/plain; charset=utf-8');
    expect(conversion?.header('WARC-Block-Digest')).toBe(`sha256:${row.text_sha256}`);
    expect(conversion?.header('WARC-Payload-Digest')).toBe(`sha256:${row.text_sha256}`);
    expect(conversion?.header('WARC-Concurrent-To')).toBeNull();
    expect(conversion?.header('WARC-Refers-To')).toBeNull();
    expect(conversion?.header('WARC-Gleaner-HTTP-Status')).toBe('203');
    expect(conversion?.header('WARC-Gleaner-Content-Type')).toBe(row.content_type);
    expect(conversion?.header('WARC-Gleaner-Requested-URI')).toBe(row.url);
    expect(conversion?.header('WARC-Gleaner-Language')).toBeNull();
  });

  it('writes a page with HTML as a resource and a conversion record that name each other', async () => {
    const html = '<!doctype html><title>Caf\u00e9</title><p>Caf\u00e9 \u{1F600}</p>';
    const row = page(2, { raw_html: html, content_type: 'application/xhtml+xml; charset=iso-8859-1' });
    const { warcPath } = await writeWarc([row]);
    const [, resource, conversion, ...rest] = await readWarc(createReadStream(warcPath));
    expect(rest).toEqual([]);
    expect(resource?.type).toBe('resource');
    expect(conversion?.type).toBe('conversion');
    expect(resource?.payload.toString('utf8')).toBe(html);
    // Stored as the browser decoded it, so the charset is UTF-8 whatever the server declared.
    expect(resource?.header('Content-Type')).toBe('application/xhtml+xml; charset=utf-8');
    expect(resource?.header('WARC-Gleaner-Content-Type')).toBe(row.content_type);
    expect(resource?.header('WARC-Target-URI')).toBe(row.final_url);
    expect(resource?.header('WARC-Date')).toBe(row.fetched_at);
    expect(resource?.header('WARC-Concurrent-To')).toBe(conversion?.header('WARC-Record-ID'));
    expect(conversion?.header('WARC-Concurrent-To')).toBe(resource?.header('WARC-Record-ID'));
    expect(conversion?.header('WARC-Refers-To')).toBe(resource?.header('WARC-Record-ID'));
    expect(resource?.header('WARC-Record-ID')).not.toBe(conversion?.header('WARC-Record-ID'));
    for (const record of [resource, conversion]) {
      expect(record?.header('WARC-Block-Digest')).toBe(`sha256:${sha256(record?.payload ?? '')}`);
      expect(record?.header('WARC-Payload-Digest')).toBe(`sha256:${sha256(record?.payload ?? '')}`);
    }
  });

  it('never writes request or response records, and every record type is honest', async () => {
    const rows = Array.from({ length: 20 }, (_, index) =>
      page(index, index % 2 ? { raw_html: `<p>${index}</p>` } : {}),
    );
    const { warcPath, result } = await writeWarc(rows);
    const records = await readWarc(createReadStream(warcPath));
    const types = records.map((record) => record.type);
    expect(types.filter((type) => type === 'warcinfo')).toHaveLength(1);
    expect(types.filter((type) => type === 'conversion')).toHaveLength(20);
    expect(types.filter((type) => type === 'resource')).toHaveLength(10);
    expect(types).not.toContain('response');
    expect(types).not.toContain('request');
    expect(result.records).toBe(31);
    expect(result.cdxjLines).toBe(30);
  });

  it('keeps hostile URLs, titles and texts readable and cannot be tricked into forging headers', async () => {
    const longPath = 'a/'.repeat(6000);
    const rows = [
      page(1, {
        url: 'https://example.com/with space/é?q=a b',
        final_url: 'https://Bücher.example/straße/ä ö?q=ü ü#frag',
        text: 'head\r\n\r\nWARC/1.1\r\nWARC-Type: response\r\n\r\nnot a record\u0001\u001f\u007f',
        title: 'Evil\r\nWARC-Type: response\r\nContent-Length: 0',
      }),
      page(2, { final_url: `https://example.com/${longPath}?${'x=1&'.repeat(500)}`, text: '', word_count: 0 }),
      page(3, { final_url: 'not a url at all', title: 'Emoji \u{1F600} 中文', raw_html: '' }),
      page(4, { text: '😀'.repeat(10_000), contributor: '', verification: 'rejected' }),
    ];
    const { warcPath } = await writeWarc(rows);
    const records = await readWarc(createReadStream(warcPath));
    const conversions = records.filter((record) => record.type === 'conversion');
    expect(records.map((record) => record.type)).toEqual([
      'warcinfo',
      'conversion',
      'conversion',
      'resource',
      'conversion',
      'conversion',
    ]);

    for (const [index, row] of rows.entries()) {
      const conversion = conversions[index];
      expect(conversion?.payload.toString('utf8')).toBe(row.text);
      expect(conversion?.header('WARC-Block-Digest')).toBe(`sha256:${row.text_sha256}`);
      // The target URI is ASCII with no spaces, whatever the row held.
      expect(conversion?.header('WARC-Target-URI')).toMatch(/^[\x21-\x7e]+$/);
    }
    expect(conversions[0]?.header('WARC-Target-URI')).toBe(
      'https://xn--bcher-kva.example/stra%C3%9Fe/%C3%A4%20%C3%B6?q=%C3%BC%20%C3%BC#frag',
    );
    expect(conversions[0]?.header('WARC-Gleaner-Requested-URI')).toBe(
      'https://example.com/with%20space/%C3%A9?q=a%20b',
    );
    expect(conversions[0]?.header('WARC-Type')).toBe('conversion');
    expect(conversions[0]?.header('WARC-Gleaner-Title')).toBe('Evil  WARC-Type: response  Content-Length: 0');
    expect(conversions[1]?.header('WARC-Target-URI')).toBe(rows[1]?.final_url);
    expect(conversions[1]?.header('Content-Length')).toBe('0');
    expect(conversions[2]?.header('WARC-Target-URI')).toBe('not%20a%20url%20at%20all');
    expect(conversions[2]?.header('WARC-Gleaner-Title')).toBe('Emoji \u{1F600} 中文');
    expect(conversions[3]?.header('WARC-Gleaner-Contributor')).toBeNull();
    expect(records[3]?.payload.length).toBe(0);
  });

  it('writes each record as its own gzip member, located exactly by its CDXJ line', async () => {
    const rows = [
      page(5, { final_url: 'https://www.zeta.example/b', raw_html: '<p>z</p>' }),
      page(6, { final_url: 'https://alpha.example:8443/Path/?b=2&a=1' }),
      page(7, { final_url: 'https://alpha.example/a', text: 'x\r\n\r\ny', raw_html: '<b>\r\n\r\n</b>' }),
      page(8, { final_url: 'https://alpha.example/a', fetched_at: '2020-01-01T00:00:00.000Z' }),
      page(9, { final_url: 'https://münchen.example/ü page', http_status: 404 }),
    ];
    const { warcPath, cdxjPath, result } = await writeWarc(rows);
    const warc = await readFile(warcPath);
    const cdxj = await readFile(cdxjPath, 'utf8');
    const lines = cdxj.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(7);
    expect(result.cdxjBytes).toBe(Buffer.byteLength(cdxj));
    expect(cdxj).toMatch(/^[\x20-\x7e\n]*$/);
    // Sorted as bytes, which for these keys is by SURT key, then timestamp.
    expect([...lines].sort()).toEqual(lines);
    const keys = lines.map((line) => parseCdxjLine(line).key);
    expect(keys[0]).toBe('example,alpha)/a');
    expect(parseCdxjLine(lines[0] ?? '').timestamp).toBe('20200101000000');
    expect(keys).toContain('example,alpha:8443)/path?a=1&b=2');
    expect(keys).toContain('example,zeta)/b');

    const coveredBytes = new Set<number>();
    for (const line of lines) {
      const { key, timestamp, fields } = parseCdxjLine(line);
      const offset = Number(fields.offset);
      const length = Number(fields.length);
      // Only this slice of the file: it must be exactly one whole gzip member holding exactly one record.
      const member = warc.subarray(offset, offset + length);
      const records = await readWarc([gunzipSync(member)]);
      expect(records).toHaveLength(1);
      const [record] = records;
      expect(record?.header('WARC-Target-URI')).toBe(fields.url);
      expect(key).toBe(surtKey(fields.url ?? ''));
      expect(timestamp).toBe((record?.header('WARC-Date') ?? '').replace(/[-:T]/g, '').slice(0, 14));
      expect(fields.mime).toBe(record?.type === 'resource' ? 'text/html' : 'text/plain');
      expect(fields.status).toBe(record?.header('WARC-Gleaner-HTTP-Status'));
      expect(`sha256:${fields.digest}`).toBe(record?.header('WARC-Payload-Digest'));
      expect(fields.digest).toBe(sha256(record?.payload ?? ''));
      expect(fields.filename).toBe('pages.warc.gz');
      coveredBytes.add(offset);
    }
    expect(coveredBytes.size).toBe(7);

    // warcio's own indexer agrees on where each record is and what it holds.
    const indexer = new CDXIndexer({ all: true });
    const fromWarcio = [];
    for await (const entry of indexer.iterIndex([{ filename: 'pages.warc.gz', reader: createReadStream(warcPath) }])) {
      if (entry['warc-type'] === 'warcinfo' || entry.mime === 'application/warc-fields') continue;
      fromWarcio.push(`${entry.url} ${entry.offset} ${entry.length} ${entry.digest}`);
    }
    const ours = lines.map((line) => {
      const { fields } = parseCdxjLine(line);
      return `${fields.url} ${fields.offset} ${fields.length} ${fields.digest}`;
    });
    expect(fromWarcio.sort()).toEqual(ours.sort());
  });

  it('sorts a CDXJ index bigger than its memory budget through temporary runs, and removes them', async () => {
    const rows = Array.from({ length: 300 }, (_, index) =>
      page(index, {
        final_url: `https://host${(index * 7919) % 300}.example/${(index * 104729) % 1000}`,
        raw_html: index % 3 === 0 ? `<p>${index}</p>` : null,
      }),
    );
    const runsDirectory = join(directory, 'runs');
    await mkdir(runsDirectory);

    const spilled = await writeWarc(rows, { cdxjMemoryBudget: 8000, tempDirectory: runsDirectory }, 'spilled');
    const spilledIndex = await readFile(spilled.cdxjPath, 'utf8');
    expect(await readdir(runsDirectory)).toEqual([]);

    const inMemory = await writeWarc(rows, {}, 'in-memory');
    const inMemoryIndex = await readFile(inMemory.cdxjPath, 'utf8');
    const lines = spilledIndex.split('\n').slice(0, -1);
    expect(lines).toHaveLength(400);
    expect([...lines].sort()).toEqual(lines);
    // Random record ids make gzip member sizes differ between the two files: compare all but where they land.
    const withoutPlace = (index: string) => index.replace(/"length":"\d+","offset":"\d+",/g, '');
    expect(withoutPlace(spilledIndex)).toBe(withoutPlace(inMemoryIndex));
    const warc = await readFile(spilled.warcPath);
    for (const line of lines) {
      const { fields } = parseCdxjLine(line);
      const member = warc.subarray(Number(fields.offset), Number(fields.offset) + Number(fields.length));
      const [record] = await readWarc([gunzipSync(member)]);
      expect(record?.header('WARC-Target-URI')).toBe(fields.url);
    }
  });

  it('rejects instead of hanging when the WARC sink fails, and leaves no index that looks complete', async () => {
    let accepted = 0;
    const failingSink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        accepted += chunk.length;
        callback(accepted > 5000 ? new Error('disk full') : null);
      },
    });
    const cdxjPath = join(directory, 'broken.cdxj');
    const cdxjSink = createWriteStream(cdxjPath);
    const writer = createWarcWriter(failingSink, {
      datasetId: 'ds',
      software: 'test',
      filename: 'broken.warc.gz',
      cdxjSink,
    });
    let failed: unknown = null;
    try {
      for (let index = 0; index < 200; index += 1) {
        await writer.writePage(page(index, { text: sha256(String(index)).repeat(20) }));
      }
    } catch (error) {
      failed = error;
    }
    expect(String(failed)).toContain('disk full');
    await expect(writer.writePage(page(1))).rejects.toThrow('disk full');
    await expect(writer.close()).rejects.toThrow('disk full');
    expect(cdxjSink.destroyed).toBe(true);
    const handle = await open(cdxjPath);
    expect((await handle.stat()).size).toBe(0);
    await handle.close();
  });
});
