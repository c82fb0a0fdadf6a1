import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DuckDBInstance } from '@duckdb/node-api';
import type { ErrorBody } from '@protocol/errors';
import Fastify, { type FastifyInstance } from 'fastify';
import { asyncBufferFromUrl, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupErrorHandler } from '../plugins/error-handler';
import { signDownloadPath, verifyDownload } from './download-urls';
import { contentDisposition, parseRange, sendStoredFile } from './serve-file';
import type { DatasetStorage } from './storage/dataset-storage';
import { createLocalStorage } from './storage/local-storage';
import { patterned } from './storage/storage-suite';

const secret = 'serve-file-test-secret-of-enough-length';
const datasetId = randomUUID();
const parquetPath = 'data/train-00000-of-00001.parquet';
const parquetRows = 200_000;
const blobPath = 'data/blob.bin';
const blob = patterned(100_000, 42);

let folder: string;
let storage: DatasetStorage;
let app: FastifyInstance;
let origin: string;
let parquetBytes: number;
/** Every socket the server accepted, to count the bytes it really wrote. */
const sockets = new Set<Socket>();
/** Streams the server opened and whether each was destroyed or ended, to see nothing is left open. */
const opened: { closed: boolean }[] = [];

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'gleaner-serve-file-'));
  storage = createLocalStorage(join(folder, 'datasets'));
  const counting: DatasetStorage = {
    ...storage,
    async read(key, range) {
      const stream = await storage.read(key, range);
      const record = { closed: false };
      opened.push(record);
      stream.once('close', () => {
        record.closed = true;
      });
      return stream;
    },
  };

  // A Parquet file with many row groups, written by an independent writer (DuckDB), zstd as the datasets are.
  const parquetFile = join(folder, 'source.parquet');
  const duckdb = await DuckDBInstance.create(':memory:');
  const connection = await duckdb.connect();
  await connection.run(
    `COPY (SELECT i AS id, md5(i::VARCHAR) || md5((i * 7)::VARCHAR) AS text FROM range(${parquetRows}) t(i))
     TO '${parquetFile}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 20000)`,
  );
  connection.closeSync();
  duckdb.closeSync();
  parquetBytes = (await stat(parquetFile)).size;
  const writer = storage.openWriter(`datasets/${datasetId}/${parquetPath}`);
  await pipeline(createReadStream(parquetFile), writer.sink);
  await writer.done();
  const blobWriter = storage.openWriter(`datasets/${datasetId}/${blobPath}`);
  blobWriter.sink.end(blob);
  await blobWriter.done();
  await storage.openWriter(`datasets/${datasetId}/empty.json`).done();

  app = Fastify();
  setupErrorHandler(app);
  // Test-only routes; the real `/v1/files/...` route is the server's. One is GET only (Fastify adds HEAD),
  // one declares GET and HEAD, because the two take different paths through Fastify for HEAD.
  app.get<{ Params: { datasetId: string; '*': string }; Querystring: Record<string, unknown> }>(
    '/v1/files/:datasetId/*',
    async (request, reply) => {
      const { datasetId: id, '*': path } = request.params;
      const check = verifyDownload({ datasetId: id, path, ...request.query } as never, secret);
      if (check !== 'ok') {
        return reply.status(403).send({ code: 'download_url_invalid', message: check } satisfies ErrorBody);
      }
      return sendStoredFile(request, reply, counting, `datasets/${id}/${path}`, {
        fileName: path.split('/').pop() as string,
      });
    },
  );
  app.route<{ Params: { '*': string } }>({
    method: ['GET', 'HEAD'],
    url: '/plain/*',
    handler: (request, reply) =>
      sendStoredFile(request, reply, counting, `datasets/${datasetId}/${request.params['*']}`, {
        fileName: request.params['*'].split('/').pop() as string,
      }),
  });
  app.server.on('connection', (socket: Socket) => sockets.add(socket));
  origin = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await rm(folder, { recursive: true, force: true });
});

const signed = (path: string, expiresAt = new Date(Date.now() + 3_600_000)) =>
  `${origin}${signDownloadPath({ datasetId, path, expiresAt }, secret)}`;

describe('serving a stored file', () => {
  it('sends the whole file with its validators and type', async () => {
    const response = await fetch(signed(parquetPath));
    expect(response.status).toBe(200);
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('content-length')).toBe(String(parquetBytes));
    expect(response.headers.get('content-type')).toBe('application/vnd.apache.parquet');
    expect(response.headers.get('etag')).toMatch(/^"[^"]+"$/);
    expect(response.headers.get('last-modified')).toMatch(/GMT$/);
    expect(response.headers.get('content-disposition')).toContain('filename="train-00000-of-00001.parquet"');
    const body = Buffer.from(await response.arrayBuffer());
    expect(body.length).toBe(parquetBytes);
    expect(body.subarray(0, 4).toString()).toBe('PAR1');
  });

  it('sends single ranges: the first byte, the last bytes, a middle slice, an open end', async () => {
    const ask = async (range: string) => {
      const response = await fetch(`${origin}/plain/${blobPath}`, { headers: { range } });
      return { response, body: Buffer.from(await response.arrayBuffer()) };
    };
    const first = await ask('bytes=0-0');
    expect(first.response.status).toBe(206);
    expect(first.response.headers.get('content-range')).toBe(`bytes 0-0/${blob.length}`);
    expect(first.body).toEqual(blob.subarray(0, 1));

    const last = await ask('bytes=-100');
    expect(last.response.status).toBe(206);
    expect(last.response.headers.get('content-range')).toBe(`bytes 99900-99999/${blob.length}`);
    expect(last.body).toEqual(blob.subarray(99_900));

    const middle = await ask('bytes=12345-23456');
    expect(middle.response.headers.get('content-length')).toBe('11112');
    expect(middle.body).toEqual(blob.subarray(12_345, 23_457));

    const open = await ask('bytes=99990-');
    expect(open.body).toEqual(blob.subarray(99_990));
    const clamped = await ask('bytes=99990-999999999');
    expect(clamped.response.headers.get('content-range')).toBe(`bytes 99990-99999/${blob.length}`);
    const longSuffix = await ask('bytes=-999999');
    expect(longSuffix.response.status).toBe(206);
    expect(longSuffix.body).toEqual(blob);
  });

  it('answers 416 with the size for a range past the end, and 200 for ranges it does not serve', async () => {
    for (const range of ['bytes=100000-', 'bytes=200000-200010', 'bytes=-0']) {
      const response = await fetch(`${origin}/plain/${blobPath}`, { headers: { range } });
      expect(response.status, range).toBe(416);
      expect(response.headers.get('content-range')).toBe(`bytes */${blob.length}`);
      expect(((await response.json()) as ErrorBody).code).toBe('bad_request');
    }
    for (const range of ['bytes=0-1,5-6', 'bytes=5-1', 'items=0-5', 'bytes=abc', 'bytes=-']) {
      const response = await fetch(`${origin}/plain/${blobPath}`, { headers: { range } });
      expect(response.status, range).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBe(blob.length);
    }
    const empty = await fetch(`${origin}/plain/empty.json`, { headers: { range: 'bytes=0-0' } });
    expect(empty.status).toBe(416);
  });

  it('answers 304 to a matching If-None-Match or If-Modified-Since, and 412 to a failed If-Match', async () => {
    const first = await fetch(`${origin}/plain/${blobPath}`);
    const etag = first.headers.get('etag') as string;
    const lastModified = first.headers.get('last-modified') as string;
    await first.arrayBuffer();
    for (const headers of [
      { 'if-none-match': etag } as Record<string, string>,
      { 'if-none-match': `"other", W/${etag}` },
      { 'if-none-match': '*' },
      { 'if-modified-since': lastModified },
    ]) {
      const response = await fetch(`${origin}/plain/${blobPath}`, { headers });
      expect(response.status, JSON.stringify(headers)).toBe(304);
      expect(response.headers.get('etag')).toBe(etag);
      expect((await response.arrayBuffer()).byteLength).toBe(0);
    }
    const changed = await fetch(`${origin}/plain/${blobPath}`, { headers: { 'if-none-match': '"other"' } });
    expect(changed.status).toBe(200);
    await changed.arrayBuffer();
    const precondition = await fetch(`${origin}/plain/${blobPath}`, { headers: { 'if-match': '"other"' } });
    expect(precondition.status).toBe(412);
    await precondition.arrayBuffer();
  });

  it('sends the range only while If-Range still names the file', async () => {
    const first = await fetch(`${origin}/plain/${blobPath}`, { method: 'HEAD' });
    const etag = first.headers.get('etag') as string;
    const same = await fetch(`${origin}/plain/${blobPath}`, { headers: { range: 'bytes=0-9', 'if-range': etag } });
    expect(same.status).toBe(206);
    await same.arrayBuffer();
    for (const ifRange of ['"stale"', `W/${etag}`, 'Thu, 01 Jan 1970 00:00:00 GMT']) {
      const stale = await fetch(`${origin}/plain/${blobPath}`, {
        headers: { range: 'bytes=0-9', 'if-range': ifRange },
      });
      expect(stale.status, ifRange).toBe(200);
      expect((await stale.arrayBuffer()).byteLength).toBe(blob.length);
    }
  });

  it('answers HEAD with the length and no body, on a GET route and on a GET+HEAD route', async () => {
    const before = opened.length;
    for (const url of [signed(parquetPath), `${origin}/plain/${parquetPath}`]) {
      const response = await fetch(url, { method: 'HEAD' });
      expect(response.status, url).toBe(200);
      expect(response.headers.get('content-length'), url).toBe(String(parquetBytes));
      expect(response.headers.get('accept-ranges')).toBe('bytes');
      expect((await response.arrayBuffer()).byteLength).toBe(0);
      const ranged = await fetch(url, { method: 'HEAD', headers: { range: 'bytes=4-7' } });
      expect(ranged.status).toBe(206);
      expect(ranged.headers.get('content-length')).toBe('4');
    }
    expect(opened.length).toBe(before); // HEAD never opens the file
  });

  it('says not_found for a file that is not stored', async () => {
    const response = await fetch(`${origin}/plain/data/missing.parquet`);
    expect(response.status).toBe(404);
    expect(((await response.json()) as ErrorBody).code).toBe('not_found');
  });

  it('closes the file when the client goes away mid-stream', async () => {
    const before = opened.length;
    const controller = new AbortController();
    const response = await fetch(`${origin}/plain/${parquetPath}`, { signal: controller.signal });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort();
    await reader.closed.catch(() => {});
    const record = opened[before];
    expect(record).toBeDefined();
    await expect.poll(() => record?.closed, { timeout: 5_000 }).toBe(true);
  });
});

describe('pre-signed URLs over HTTP', () => {
  const status = async (url: string) => {
    const response = await fetch(url);
    await response.arrayBuffer();
    return response.status;
  };

  it('serves a valid URL and refuses altered, borrowed, expired and incomplete ones with 403', async () => {
    const good = signed(parquetPath);
    expect(await status(good)).toBe(200);
    const url = new URL(good);
    const signature = url.searchParams.get('signature') as string;

    const altered = new URL(good);
    altered.searchParams.set('signature', `${signature.slice(0, -1)}${signature.endsWith('a') ? 'b' : 'a'}`);
    expect(await status(altered.toString())).toBe(403);

    const borrowed = new URL(good);
    borrowed.pathname = `/v1/files/${datasetId}/${blobPath}`;
    expect(await status(borrowed.toString())).toBe(403);

    const extended = new URL(good);
    extended.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 86_400));
    expect(await status(extended.toString())).toBe(403);

    const expired = await fetch(signed(parquetPath, new Date(Date.now() - 1_000)));
    expect(expired.status).toBe(403);
    expect(((await expired.json()) as ErrorBody).message).toBe('expired');

    expect(await status(`${origin}${url.pathname}`)).toBe(403);
    expect(await status(`${origin}${url.pathname}?signature=${signature}`)).toBe(403);
    expect(await status(`${origin}${url.pathname}?expires=${url.searchParams.get('expires')}`)).toBe(403);
  });

  it('lets hyparquet read a few rows over HTTP while the server sends only part of the file', async () => {
    const url = signed(parquetPath);
    const sentBefore = bytesSent();
    const file = await asyncBufferFromUrl({ url });
    expect(file.byteLength).toBe(parquetBytes);
    const metadata = await parquetMetadataAsync(file);
    expect(metadata.row_groups.length).toBeGreaterThanOrEqual(5);
    const rows = await parquetReadObjects({ file, metadata, compressors, rowStart: 150_000, rowEnd: 150_003 });
    expect(rows).toEqual(
      [150_000, 150_001, 150_002].map((id) => ({ id: BigInt(id), text: md5(String(id)) + md5(String(id * 7)) })),
    );
    const sent = bytesSent() - sentBefore;
    console.info(`hyparquet: the server sent ${sent} bytes (headers included) of a ${parquetBytes}-byte file`);
    expect(sent).toBeLessThan(parquetBytes / 3);
  });

  it('lets DuckDB read the file from the pre-signed URL (needs its httpfs extension)', async (context) => {
    const duckdb = await DuckDBInstance.create(':memory:');
    const connection = await duckdb.connect();
    try {
      try {
        await connection.run('LOAD httpfs');
      } catch (error) {
        // DuckDB downloads httpfs from extensions.duckdb.org on first use; offline it cannot.
        console.warn(
          `SKIPPED: DuckDB's httpfs extension is not installed here (${(error as Error).message.split('\n')[0]})`,
        );
        context.skip();
      }
      const reader = await connection.runAndReadAll(
        `SELECT count(*)::INTEGER AS n, max(id)::INTEGER AS top FROM read_parquet('${signed(parquetPath)}')`,
      );
      expect(reader.getRowObjects()).toEqual([{ n: parquetRows, top: parquetRows - 1 }]);
    } finally {
      connection.closeSync();
      duckdb.closeSync();
    }
  });
});

describe('header helpers', () => {
  it('parses ranges as RFC 9110 says', () => {
    expect(parseRange('bytes=0-0', 10)).toEqual({ start: 0, end: 0 });
    expect(parseRange('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange('bytes=8-', 10)).toEqual({ start: 8, end: 9 });
    expect(parseRange('bytes=10-', 10)).toBe('unsatisfiable');
    expect(parseRange('bytes=1-2, 4-5', 10)).toBeUndefined();
    expect(parseRange(`bytes=0-${'9'.repeat(30)}`, 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange(`bytes=${'9'.repeat(30)}-`, 10)).toBe('unsatisfiable');
    expect(parseRange(`bytes=-${'9'.repeat(30)}`, 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange('bytes=5-4', 10)).toBeUndefined();
  });

  it('makes a Content-Disposition safe for any file name', () => {
    for (const name of ['a "quoted"\r\nname.parquet', 'naïve ☃.jsonl.gz', 'back\\slash%20.md', '\ud800lone.json']) {
      const header = contentDisposition(name);
      expect(header, name).toMatch(/^attachment; filename="[\x20-\x7e]*"; filename\*=UTF-8''[A-Za-z0-9%._~!-]*$/);
      expect(header.match(/"/g)).toHaveLength(2);
    }
    expect(contentDisposition('naïve ☃.jsonl.gz')).toContain(`filename*=UTF-8''na%C3%AFve%20%E2%98%83.jsonl.gz`);
  });
});

function bytesSent(): number {
  let total = 0;
  for (const socket of sockets) total += socket.bytesWritten;
  return total;
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}
