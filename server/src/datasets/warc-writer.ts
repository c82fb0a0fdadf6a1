import { createHash, randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { PageRow } from '@protocol/dataset-rows';
import { type CdxjWriter, createCdxjWriter } from './cdxj';
import { endSink, writeToSink } from './sink-writes';

/**
 * WARC/1.1 for a dataset's pages, written directly (warcio's writer managed about 500 records/s, this kind of
 * writer 2-2.7k: see the data recipe). Each record is its own gzip member, so a CDXJ line's offset and length
 * let a reader fetch and inflate one record with a Range request.
 *
 * Honest record types: a contributor's browser fetched the page, so there is no raw HTTP exchange to store and
 * no `response` record is made up. Each page gets a `conversion` record (the text extracted in the browser)
 * and, when the HTML was kept, a `resource` record (the HTML as the browser decoded it, stored as UTF-8), the
 * two linked both ways by WARC-Concurrent-To. The status and Content-Type the browser saw travel in
 * `WARC-Gleaner-*` headers. Digests are `sha256:` in lower-case hex: Python warcio and pywb verify hex as
 * well as base32, warcio.js writes hex by default, and a conversion record's payload digest is then the row's
 * `text_sha256` column verbatim.
 */

const gzip = promisify(gzipCallback);

/** Same trade-off as the JSONL files (see jsonl-writer.ts): about twice the speed of level 6 for a tenth more bytes. */
const warcGzipLevel = 4;

export interface WarcWriterOptions {
  /** The dataset's id, named in the warcinfo record. */
  datasetId: string;
  /** The writing software and its version, e.g. `Gleaner 0.4.0`. */
  software: string;
  /** The WARC file's name: in the warcinfo record and in every CDXJ line. */
  filename: string;
  /** When the snapshot was taken (ISO 8601): the warcinfo record's date. Defaults to now. */
  createdAt?: string;
  /** Where the CDXJ index goes; none is written when absent. */
  cdxjSink?: Writable;
  /** For the CDXJ sort's temporary runs (defaults to the OS temporary directory). */
  tempDirectory?: string;
  /** Characters of CDXJ lines held in memory before a sorted run is spilled. */
  cdxjMemoryBudget?: number;
}

export interface WarcWriter {
  /** Appends the page's records (conversion, and resource when raw_html is present). */
  writePage(row: PageRow): Promise<void>;
  /** Ends the WARC sink, then writes the sorted CDXJ index and ends its sink. */
  close(): Promise<{ records: number; bytes: number; cdxjLines: number; cdxjBytes: number }>;
}

/** Streams pages into `sink` as gzipped WARC/1.1 records, indexing each into the CDXJ sink. */
export function createWarcWriter(sink: Writable, options: WarcWriterOptions): WarcWriter {
  const index: CdxjWriter | null = options.cdxjSink
    ? createCdxjWriter(options.cdxjSink, {
        memoryBudget: options.cdxjMemoryBudget,
        tempDirectory: options.tempDirectory,
      })
    : null;
  const warcinfoId = recordId();
  let bytes = 0;
  let records = 0;
  let failure: unknown = null;
  let started = false;

  /** Compresses finished records in parallel (zlib runs on the thread pool), then writes them in order. */
  const writeRecords = async (built: readonly BuiltRecord[]) => {
    const members = await Promise.all(built.map((record) => gzip(record.bytes, { level: warcGzipLevel })));
    for (const [position, member] of members.entries()) {
      const record = built[position];
      if (!record) continue;
      await writeToSink(sink, member);
      if (index && record.index) {
        await index.add({ ...record.index, offset: bytes, length: member.length, filename: options.filename });
      }
      bytes += member.length;
      records += 1;
    }
  };

  const start = async () => {
    if (started) return;
    started = true;
    await writeRecords([warcinfoRecord(warcinfoId, options)]);
  };

  const writePage = async (row: PageRow) => {
    if (failure) throw failure;
    await start();
    const date = warcDate(row.fetched_at);
    const targetUri = uriHeaderValue(row.final_url);
    const conversionId = recordId();
    const resourceId = row.raw_html != null ? recordId() : null;
    const gleanerHeaders: [string, string][] = [
      ['WARC-Gleaner-Requested-URI', uriHeaderValue(row.url)],
      ['WARC-Gleaner-HTTP-Status', String(row.http_status)],
      ['WARC-Gleaner-Content-Type', row.content_type],
      ['WARC-Gleaner-Title', row.title],
      ['WARC-Gleaner-Contributor', row.contributor],
      ['WARC-Gleaner-Verification', row.verification],
    ];
    if (row.language) gleanerHeaders.push(['WARC-Gleaner-Language', row.language]);
    const built: BuiltRecord[] = [];
    if (resourceId && row.raw_html != null) {
      const mime = htmlMediaType(row.content_type);
      built.push(
        contentRecord({
          type: 'resource',
          id: resourceId,
          date,
          targetUri,
          links: [
            ['WARC-Warcinfo-ID', warcinfoId],
            ['WARC-Concurrent-To', conversionId],
          ],
          extraHeaders: gleanerHeaders,
          contentType: `${mime}; charset=utf-8`,
          mime,
          status: row.http_status,
          block: Buffer.from(row.raw_html, 'utf8'),
        }),
      );
    }
    built.push(
      contentRecord({
        type: 'conversion',
        id: conversionId,
        date,
        targetUri,
        links: [
          ['WARC-Warcinfo-ID', warcinfoId],
          // The text was extracted from the same fetch as the kept HTML: its original, as the spec asks a
          // conversion record to name when that original is in the archive.
          ...(resourceId
            ? ([
                ['WARC-Refers-To', resourceId],
                ['WARC-Concurrent-To', resourceId],
              ] as [string, string][])
            : []),
        ],
        extraHeaders: gleanerHeaders,
        contentType: 'text/plain; charset=utf-8',
        mime: 'text/plain',
        status: row.http_status,
        block: Buffer.from(row.text, 'utf8'),
      }),
    );
    await writeRecords(built);
  };

  // Calls run one after another even if a caller forgets to await, so offsets always match the bytes.
  let tail: Promise<void> = Promise.resolve();
  const serialised = (task: () => Promise<void>) => {
    const run = tail.then(task);
    // After a failed write the file is incomplete: every later call fails with the first error.
    tail = run.catch((error: unknown) => {
      failure ??= error;
    });
    return run;
  };

  return {
    writePage: (row) => serialised(() => writePage(row)),
    async close() {
      try {
        await serialised(start);
        if (failure) throw failure;
        await endSink(sink);
      } catch (error) {
        // A broken WARC file must not get an index that looks complete.
        await index?.discard(error);
        throw error;
      }
      const indexed = index ? await index.close() : { lines: 0, bytes: 0 };
      return { records, bytes, cdxjLines: indexed.lines, cdxjBytes: indexed.bytes };
    },
  };
}

interface BuiltRecord {
  bytes: Buffer;
  /** What the CDXJ line says, less where the gzip member lands; null for the warcinfo record. */
  index: { url: string; date: string; mime: string; status: number; digest: string } | null;
}

function warcinfoRecord(id: string, options: WarcWriterOptions): BuiltRecord {
  const fields: [string, string][] = [
    ['software', options.software],
    ['format', 'WARC File Format 1.1'],
    ['conformsTo', 'https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/'],
    ['isPartOf', options.datasetId],
    [
      'description',
      "Gleaner dataset pages, reconstructed server-side from fetches made by contributors' web browsers. " +
        'No raw HTTP exchange was captured, so there are no request or response records: each page has a ' +
        'conversion record holding the text extracted in the browser and, when the campaign kept it, a ' +
        'resource record holding the HTML as the browser decoded it, re-encoded as UTF-8. The HTTP status ' +
        'and Content-Type the browser reported are in the WARC-Gleaner-HTTP-Status and ' +
        'WARC-Gleaner-Content-Type headers.',
    ],
  ];
  const block = Buffer.from(fields.map(([name, value]) => `${name}: ${headerValue(value)}\r\n`).join(''), 'utf8');
  const digest = sha256Hex(block);
  const header = [
    ['WARC-Type', 'warcinfo'],
    ['WARC-Record-ID', id],
    ['WARC-Date', warcDate(options.createdAt ?? new Date().toISOString())],
    ['WARC-Filename', headerValue(options.filename)],
    ['WARC-Block-Digest', `sha256:${digest}`],
    ['Content-Type', 'application/warc-fields'],
    ['Content-Length', String(block.length)],
  ] as [string, string][];
  return { bytes: serialiseRecord(header, block), index: null };
}

function contentRecord(record: {
  type: 'conversion' | 'resource';
  id: string;
  date: string;
  targetUri: string;
  links: [string, string][];
  extraHeaders: [string, string][];
  contentType: string;
  mime: string;
  status: number;
  block: Buffer;
}): BuiltRecord {
  // With no HTTP headers inside, a resource or conversion record's payload is its whole block.
  const digest = sha256Hex(record.block);
  const header: [string, string][] = [
    ['WARC-Type', record.type],
    ['WARC-Record-ID', record.id],
    ['WARC-Date', record.date],
    ['WARC-Target-URI', record.targetUri],
    ...record.links,
    ['WARC-Block-Digest', `sha256:${digest}`],
    ['WARC-Payload-Digest', `sha256:${digest}`],
    // An empty value is dropped: readers (warcio among them) skip such a header line anyway.
    ...record.extraHeaders
      .map(([name, value]): [string, string] => [name, headerValue(value).trim()])
      .filter(([, value]) => value !== ''),
    ['Content-Type', record.contentType],
    ['Content-Length', String(record.block.length)],
  ];
  return {
    bytes: serialiseRecord(header, record.block),
    index: { url: record.targetUri, date: record.date, mime: record.mime, status: record.status, digest },
  };
}

/** `WARC/1.1`, the header lines, a blank line, the block, and the two CRLFs that end every record. */
function serialiseRecord(header: [string, string][], block: Buffer): Buffer {
  const head = `WARC/1.1\r\n${header.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), block, Buffer.from('\r\n\r\n', 'latin1')]);
}

function recordId(): string {
  return `<urn:uuid:${randomUUID()}>`;
}

function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** ISO 8601 UTC with milliseconds: WARC/1.1 allows fractional seconds, and the fetch time has them. */
function warcDate(isoDate: string): string {
  const date = new Date(isoDate);
  if (Number.isNaN(date.getTime())) throw new Error(`page fetched_at is not a date: ${JSON.stringify(isoDate)}`);
  return date.toISOString();
}

/**
 * A header field value on one line: control characters (CR and LF above all, which would end the header or
 * forge one) become spaces. WARC/1.1 header values may be UTF-8, so other text is kept as is.
 */
function headerValue(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is replaced
  return value.toWellFormed().replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/**
 * A URI as WARC-Target-URI needs it: ASCII with no spaces. The WHATWG serialisation percent-encodes spaces
 * and non-ASCII paths and punycodes hosts, as a browser sends them; what it cannot parse is percent-encoded.
 */
function uriHeaderValue(url: string): string {
  try {
    return new URL(url).href;
  } catch {
    return url.toWellFormed().replace(/[^\x21-\x7e]+/gu, (run) => encodeURIComponent(run));
  }
}

/** The media type to label kept HTML with: the one fetched when it is a sane `type/subtype`, else text/html. */
function htmlMediaType(fetchedContentType: string): string {
  const mediaType = fetchedContentType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(mediaType) ? mediaType : 'text/html';
}
