import { Readable } from 'node:stream';
import { BaseError, type ErrorBody } from '@protocol/errors';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ByteRange, DatasetStorage, StoredFileInfo } from './storage/dataset-storage';

/** Options for `sendStoredFile`. */
export interface SendStoredFileOptions {
  /** The name a browser saves the file as (`train-00000-of-00001.parquet`); it also picks the Content-Type. */
  fileName: string;
  /** A `Cache-Control` value; none is sent by default. */
  cacheControl?: string;
}

/**
 * Answers GET or HEAD for a stored file, streamed from storage: `Accept-Ranges: bytes`, a strong `ETag`,
 * `Last-Modified`, conditional requests (`If-None-Match`/`If-Modified-Since` → 304, `If-Match`/
 * `If-Unmodified-Since` → 412) and one byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n` → 206, `If-Range`
 * honoured; an unsatisfiable range → 416). A request for several ranges gets the whole file (200), as RFC 9110
 * allows: the readers this serves (DuckDB, pyarrow/fsspec, hyparquet) ask for one range at a time.
 * Throws `not_found` when there is no such file.
 */
export async function sendStoredFile(
  request: FastifyRequest,
  reply: FastifyReply,
  storage: DatasetStorage,
  key: string,
  options: SendStoredFileOptions,
): Promise<FastifyReply> {
  const info = await storage.stat(key);
  if (!info) throw new BaseError('not_found', `No file ${options.fileName} here.`);
  const headers = request.headers;

  reply.header('accept-ranges', 'bytes');
  reply.header('etag', info.etag);
  reply.header('last-modified', info.modifiedAt.toUTCString());
  if (options.cacheControl) reply.header('cache-control', options.cacheControl);

  const precondition = checkPreconditions(headers, info);
  if (precondition === 412) return reply.status(412).send();
  if (precondition === 304) return reply.status(304).send();

  const rangeHeader = headers.range;
  const range =
    typeof rangeHeader === 'string' && ifRangeAllows(headers['if-range'], info)
      ? parseRange(rangeHeader, info.bytes)
      : undefined;
  if (range === 'unsatisfiable') {
    reply.header('content-range', `bytes */${info.bytes}`);
    const body: ErrorBody = {
      code: 'bad_request',
      message: `Range ${rangeHeader} is outside the ${info.bytes}-byte file.`,
    };
    return reply.status(416).send(body);
  }

  reply.header('content-type', contentTypeOf(options.fileName));
  reply.header('content-disposition', contentDisposition(options.fileName));
  reply.header('x-content-type-options', 'nosniff');

  if (range) {
    reply.status(206);
    reply.header('content-range', `bytes ${range.start}-${range.end}/${info.bytes}`);
    reply.header('content-length', range.end - range.start + 1);
  } else {
    reply.status(200);
    reply.header('content-length', info.bytes);
  }
  // HEAD gets an empty stream, not an empty body: Fastify's automatic HEAD route (for a GET route) would set
  // Content-Length: 0 for an empty body, but keeps the length given here when the payload is a stream.
  if (request.method === 'HEAD' || info.bytes === 0) return reply.send(Readable.from([]));
  // Fastify pipes the stream and destroys it if the client goes away, so no file handle or socket is left open.
  return reply.send(await storage.read(key, range));
}

/** 304, 412 or nothing to say, from the conditional request headers (RFC 9110 §13.2.2 order). */
function checkPreconditions(headers: FastifyRequest['headers'], info: StoredFileInfo): 304 | 412 | undefined {
  const ifMatch = headers['if-match'];
  if (typeof ifMatch === 'string') {
    if (!etagListMatches(ifMatch, info.etag, 'strong')) return 412;
  } else {
    const since = parseHttpDate(headers['if-unmodified-since']);
    if (since !== undefined && wholeSeconds(info.modifiedAt) > since) return 412;
  }
  const ifNoneMatch = headers['if-none-match'];
  if (typeof ifNoneMatch === 'string') {
    if (etagListMatches(ifNoneMatch, info.etag, 'weak')) return 304;
  } else {
    const since = parseHttpDate(headers['if-modified-since']);
    if (since !== undefined && wholeSeconds(info.modifiedAt) <= since) return 304;
  }
  return undefined;
}

/** Whether `If-Range` (an ETag or a date) still names this file, so a range may be sent; absent means yes. */
function ifRangeAllows(ifRange: string | string[] | undefined, info: StoredFileInfo): boolean {
  if (ifRange === undefined) return true;
  if (typeof ifRange !== 'string') return false;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === info.etag && !value.startsWith('W/');
  const date = parseHttpDate(value);
  return date !== undefined && date === wholeSeconds(info.modifiedAt);
}

/** `*` or a comma-separated list of entity tags; weak comparison ignores the `W/` prefix. */
function etagListMatches(list: string, etag: string, comparison: 'strong' | 'weak'): boolean {
  if (list.trim() === '*') return true;
  const tags = list.match(/(?:W\/)?"[^"]*"/g) ?? [];
  return tags.some((tag) =>
    comparison === 'weak' ? tag.replace(/^W\//, '') === etag.replace(/^W\//, '') : tag === etag,
  );
}

/**
 * The one range to send, `unsatisfiable`, or undefined to send the whole file: for a header that is not a
 * valid `bytes` range set, and for several ranges. An end past the file is clamped.
 */
export function parseRange(header: string, size: number): ByteRange | 'unsatisfiable' | undefined {
  const match = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!match?.[1]) return undefined;
  const specs = match[1].split(',').map((spec) => spec.trim());
  if (specs.length !== 1) return undefined;
  const spec = /^(\d*)-(\d*)$/.exec(specs[0] as string);
  if (!spec) return undefined;
  const [, first = '', last = ''] = spec;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    // A suffix: the last n bytes (all of them if the file is shorter).
    const length = Number(last);
    if (length === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  // Digits only, so Number() is a whole number (huge ones lose precision but still compare right).
  const start = Number(first);
  const end = last === '' ? Number.POSITIVE_INFINITY : Number(last);
  if (end < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

/** The Content-Type for a dataset file name. */
export function contentTypeOf(fileName: string): string {
  const name = fileName.toLowerCase();
  if (name.endsWith('.parquet')) return 'application/vnd.apache.parquet';
  if (name.endsWith('.jsonl.gz') || name.endsWith('.warc.gz') || name.endsWith('.gz')) return 'application/gzip';
  if (name.endsWith('.jsonl')) return 'application/jsonl; charset=utf-8';
  if (name.endsWith('.cdxj')) return 'text/plain; charset=utf-8';
  if (name.endsWith('.json')) return 'application/json; charset=utf-8';
  if (name.endsWith('.md')) return 'text/markdown; charset=utf-8';
  return 'application/octet-stream';
}

/**
 * `attachment` with the file name, safe for any name: an ASCII fallback with quotes, backslashes and control
 * characters replaced, and the exact name in RFC 8187's `filename*` for clients that read it.
 */
export function contentDisposition(fileName: string): string {
  const name = fileName.toWellFormed();
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

function parseHttpDate(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string') return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : Math.floor(time / 1000);
}

/** HTTP dates have whole seconds; compare modification times at that precision. */
function wholeSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
