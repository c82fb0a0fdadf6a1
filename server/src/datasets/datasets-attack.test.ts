import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { type DatasetRowKind, rowHash } from '@protocol/dataset-rows';
import { type Dataset, datasetSchema, datasetUrlsSchema, type RowProof, rowProofSchema } from '@protocol/datasets';
import type { FastifyInstance } from 'fastify';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { encodeAbiParameters, keccak256 } from 'viem';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { signDownloadPath } from './download-urls';
import { type TemporaryDatasetSettings, temporaryDatasetSettings } from './temporary-dataset-settings';
import { createBuyer, type SeedPage, seedCampaignPages } from './test-fixtures';

/**
 * Attacks on buyer datasets through the real routes: isolation between buyers, pre-signed URLs and path
 * tricks on a listening server (no client-side URL normalisation), ranges, proofs at the edges, hostile
 * pages, empty and filtered sources, builds cancelled or deleted midway, frozen snapshots, concurrent builds,
 * and malformed requests. Every test here states a claim that holds.
 */

const words = (seed: number, count: number) =>
  Array.from({ length: count }, (_, i) => `w${(seed * 7919 + i * 104729) % 9973}`).join(' ');

/** OpenZeppelin's StandardMerkleTree leaf for a `bytes32` value, computed here rather than trusted. */
const leafOf = (hash: string) =>
  keccak256(keccak256(encodeAbiParameters([{ type: 'bytes32' }], [hash as `0x${string}`])));

/** A Parquet row as hyparquet reads it, in the canonical row's types (ISO dates, numbers not bigints). */
const canonical = (row: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(row).map(([key, value]) => [
      key,
      value instanceof Date ? value.toISOString() : typeof value === 'bigint' ? Number(value) : value,
    ]),
  );

describeEachDatabase('datasets under attack', (database) => {
  let app: FastifyInstance;
  let settings: TemporaryDatasetSettings;
  let buyer: { key: string; id: string };
  let other: { key: string; id: string };
  /** A ready dataset of `buyer` over several Parquet shards, with JSONL and WARC. */
  let shared: Dataset;
  let sharedCampaign: string;
  let port: number;

  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  const create = (body: unknown, key = buyer.key) =>
    app.inject({ method: 'POST', url: '/v1/datasets', headers: as(key), payload: body as object });
  const read = async (id: string) =>
    datasetSchema.parse(
      (await app.inject({ method: 'GET', url: `/v1/datasets/${id}`, headers: as(buyer.key) })).json(),
    );
  const built = async (body: unknown): Promise<Dataset> => {
    const response = await create(body);
    expect(response.statusCode, response.body).toBe(201);
    await app.workQueue.drain();
    const dataset = await read(response.json().id);
    expect(dataset.error).toBeNull();
    expect(dataset.state).toBe('ready');
    return dataset;
  };
  const file = (dataset: Dataset, path: string, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'GET',
      url: `/v1/datasets/${dataset.id}/files/${path}`,
      headers: { ...as(buyer.key), ...headers },
    });
  /** Pre-signed URLs as path and query (the origin is the test's `localhost`). */
  const presigned = async (dataset: Dataset) => {
    const response = await app.inject({
      method: 'GET',
      url: `/v1/datasets/${dataset.id}/urls`,
      headers: as(buyer.key),
    });
    return datasetUrlsSchema
      .parse(response.json())
      .files.map((entry) => ({ path: entry.path, url: entry.url.replace(/^https?:\/\/[^/]+/, '') }));
  };
  const proof = (dataset: Dataset, n: string | number, key = buyer.key) =>
    app.inject({ method: 'GET', url: `/v1/datasets/${dataset.id}/rows/${n}/proof`, headers: as(key) });
  const parquetRows = async (dataset: Dataset) => {
    const rows: Record<string, unknown>[] = [];
    for (const shard of dataset.files.filter((f) => f.kind === 'parquet')) {
      const bytes = (await file(dataset, shard.path)).rawPayload;
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      rows.push(...(await parquetReadObjects({ file: buffer, compressors })));
    }
    return rows;
  };
  const storedFiles = (id: string) => settings.storedFiles(id);
  /** The status line and body of a request sent byte for byte (inject and fetch would normalise the path). */
  const rawGet = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk.toString('latin1');
      });
      socket.on('end', () => {
        const [head = '', body = ''] = data.split('\r\n\r\n');
        resolve({ status: Number(head.split(' ')[1]), body });
      });
      socket.on('error', reject);
      const extra = Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${extra}\r\n`);
    });
  /** Polls a build until `reached`; fails if the build ended first (the test would prove nothing). */
  const whileBuilding = async (id: string, reached: (dataset: Dataset) => boolean) => {
    for (;;) {
      const dataset = await read(id);
      if (reached(dataset)) return dataset;
      if (dataset.state !== 'queued' && dataset.state !== 'building') {
        throw new Error(`the build ended (${dataset.state}) before the test could act on it`);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const bigCampaign = (seed: number, count: number) =>
    seedCampaignPages(
      database(),
      buyer.id,
      Array.from({ length: count }, (_, i) => ({ text: words(seed + i, 200) })),
    );
  /** A proof is self-consistent: its values hash to its rowHash, that is its leaf, and it verifies. */
  const expectConsistent = (kind: DatasetRowKind, proven: RowProof, root: string | null) => {
    expect(proven.root).toBe(root);
    expect(rowHash(kind, proven.values as never)).toBe(proven.rowHash);
    expect(leafOf(proven.rowHash)).toBe(proven.leaf);
    expect(StandardMerkleTree.verify(proven.root, ['bytes32'], [proven.rowHash], proven.proof)).toBe(true);
  };

  beforeAll(async () => {
    settings = await temporaryDatasetSettings({
      batchSize: 5,
      progressIntervalMs: 0,
      rowGroupBytes: 8 * 1024,
      shardBytes: 24 * 1024,
    });
    app = await buildTestApp(database(), {}, { datasets: settings, work: { concurrency: 1, pollMs: 0 } });
    buyer = await createBuyer(app, 'Attacked Buyer');
    other = await createBuyer(app, 'Attacker');
    const seeded = await seedCampaignPages(
      database(),
      buyer.id,
      Array.from({ length: 160 }, (_, i) => ({ text: words(i, 150) })),
    );
    sharedCampaign = seeded.campaignId;
    shared = await built({
      source: { kind: 'campaign', campaignId: sharedCampaign },
      formats: ['parquet', 'jsonl', 'warc'],
    });
    expect(shared.files.filter((f) => f.kind === 'parquet').length).toBeGreaterThan(1);
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    port = Number(new URL(address).port);
  });
  afterAll(async () => {
    await app.close();
    await settings.storage.close();
  });

  it("answers 404 to another buyer on every route, whatever the path, case or method, and to building from the buyer's sources", async () => {
    const id = shared.id;
    const requests: Array<{ method: 'GET' | 'HEAD' | 'POST' | 'DELETE'; url: string }> = [
      { method: 'GET', url: `/v1/datasets/${id.toUpperCase()}` },
      { method: 'HEAD', url: `/v1/datasets/${id}/files/README.md` },
      { method: 'GET', url: `/v1/datasets/${id}/files/data/../README.md` },
      { method: 'GET', url: `/v1/datasets/${id}/files/provenance/merkle-tree.bin` },
      { method: 'GET', url: `/v1/datasets/${id}/rows/0/proof` },
      { method: 'GET', url: `/v1/datasets/${id}/rows/99999/proof` },
      { method: 'GET', url: `/v1/datasets/${id}/urls?expiresIn=60` },
      { method: 'POST', url: `/v1/datasets/${id}/cancel` },
      { method: 'DELETE', url: `/v1/datasets/${id.toUpperCase()}` },
    ];
    for (const request of requests) {
      const response = await app.inject({ ...request, headers: as(other.key) });
      expect(response.statusCode, `${request.method} ${request.url}`).toBe(404);
      // The message names no file, size or state of the dataset.
      if (request.method !== 'HEAD') expect(response.body).not.toMatch(/ready|rows|parquet/);
    }
    const project = await app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: as(buyer.key),
      payload: {
        name: 'private project',
        instructions: 'x',
        labelSchema: { type: 'single_choice', choices: ['a', 'b'] },
        items: [{ id: 'i1', content: { type: 'text', text: 'hello' } }],
      },
    });
    expect(project.statusCode, project.body).toBe(201);
    const projectId = project.json().project.id as string;
    for (const source of [
      { kind: 'project', projectId },
      { kind: 'project', projectId: projectId.toUpperCase() },
      { kind: 'campaign', campaignId: sharedCampaign.toUpperCase() },
    ]) {
      const stolen = await create({ source }, other.key);
      expect(stolen.statusCode, JSON.stringify(source)).toBe(404);
    }
    const listed = await app.inject({ method: 'GET', url: '/v1/datasets?limit=100', headers: as(other.key) });
    expect(listed.json()).toEqual({ datasets: [], next: null });
    // The owner's still there.
    expect((await read(id)).state).toBe('ready');
  });

  it('refuses every altered pre-signed URL, path tricks sent byte for byte included, and serves HEAD', async () => {
    const urls = await presigned(shared);
    const readme = urls.find((entry) => entry.path === 'README.md');
    const parquet = urls.find((entry) => entry.path.endsWith('.parquet'));
    if (!readme || !parquet) throw new Error('no README or Parquet URL');
    const query = readme.url.split('?')[1] as string;
    const base = `/v1/files/${shared.id}`;
    expect((await rawGet(readme.url)).status).toBe(200);

    const forbidden = [
      `${base}/data/../README.md?${query}`,
      `${base}/data/%2e%2e/README.md?${query}`,
      `${base}/data/%252e%252e/README.md?${query}`,
      `${base}/data%2F..%2FREADME.md?${query}`,
      `${base}/data\\..\\README.md?${query}`,
      `${base}/./README.md?${query}`,
      `${base}//README.md?${query}`,
      `${base}/README.md%00?${query}`,
      `${base}/README.md%00.parquet?${query}`,
      `${base}/%2e%2e/%2e%2e/%2e%2e/etc/passwd?${query}`,
      `${base}/croissant.json?${query}`,
      `/v1/files/${randomUUID()}/README.md?${query}`,
      `${base}/README.md?${query.replace(/expires=\d+/, (e) => `${e.slice(0, -1)}${e.endsWith('9') ? '8' : '9'}`)}`,
      `${base}/README.md?${query.replace(/expires=\d+/, 'expires=99999999999')}`,
      `${base}/README.md?${query.replace(/signature=[0-9a-f]+/, (s) => s.toUpperCase().replace('SIGNATURE', 'signature'))}`,
      `${base}/README.md?${query.replace(/signature=[0-9a-f]+/, `signature=${'0'.repeat(64)}`)}`,
      `${base}/README.md?expires=&signature=`,
      `${base}/README.md`,
    ];
    for (const path of forbidden) {
      const response = await rawGet(path);
      expect(response.status, path).toBe(403);
      expect(JSON.parse(response.body), path).toMatchObject({ code: 'download_url_invalid' });
    }
    // A dataset id is a UUID: its spelling in upper case names the same dataset, and the same signature holds.
    expect((await rawGet(`/v1/files/${shared.id.toUpperCase()}/README.md?${query}`)).status).toBe(200);
    // A URL signed for a path that is not a file of the dataset is refused after the signature check.
    const unlisted = signDownloadPath(
      { datasetId: shared.id, path: 'provenance/merkle-tree.bin', expiresAt: new Date(Date.now() + 60_000) },
      settings.urlSecret,
    );
    expect((await rawGet(unlisted)).status).toBe(404);
    // Too long, not a UUID, or several expiries: 400 saying which part.
    const tooLong = await rawGet(`${base}/${'a/'.repeat(600)}README.md?${query}`);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body).toContain('params.*');
    expect((await rawGet(`/v1/files/not-a-uuid/README.md?${query}`)).status).toBe(400);
    expect((await rawGet(`${base}/README.md?${query}&expires=1`)).status).toBe(400);

    const head = await app.inject({ method: 'HEAD', url: parquet.url });
    expect(head.statusCode).toBe(200);
    expect(Number(head.headers['content-length'])).toBe(shared.files.find((f) => f.path === parquet.path)?.bytes);
    expect(head.rawPayload.length).toBe(0);
    const headRange = await app.inject({ method: 'HEAD', url: parquet.url, headers: { range: 'bytes=0-3' } });
    expect(headRange.statusCode).toBe(206);
    expect(headRange.headers['content-length']).toBe('4');
    expect(headRange.rawPayload.length).toBe(0);
    expect((await app.inject({ method: 'POST', url: parquet.url })).statusCode).toBe(404);
  });

  it('serves only listed files on the buyer route, path tricks sent byte for byte included', async () => {
    const auth = as(buyer.key);
    const base = `/v1/datasets/${shared.id}/files`;
    for (const path of [
      `${base}/data/../README.md`,
      `${base}/data/%2e%2e/README.md`,
      `${base}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd`,
      `${base}/..%2f..%2f..%2fetc%2fpasswd`,
      `${base}/..%5c..%5cREADME.md`,
      `${base}/README.md%00`,
      `${base}/provenance/merkle-tree.bin`,
      `${base}/staging/README.md`,
      `${base}/README.MD`,
    ]) {
      const response = await rawGet(path, auth);
      expect(response.status, path).toBe(404);
      expect(JSON.parse(response.body), path).toMatchObject({ code: 'not_found' });
    }
    expect((await rawGet(`${base}/%E0%A4%A`, auth)).status).toBe(400);
    expect((await rawGet(`${base}/README.md`, auth)).status).toBe(200);
  });

  it('answers ranges and conditions as RFC 9110 says, on the real route', async () => {
    const parquet = shared.files.find((f) => f.kind === 'parquet');
    if (!parquet) throw new Error('no shard');
    const size = parquet.bytes;
    const whole = await file(shared, parquet.path);
    const etag = whole.headers.etag as string;
    const lastModified = whole.headers['last-modified'] as string;
    const cases: Array<[Record<string, string>, number, string | undefined, number]> = [
      [{ range: 'bytes=0-0' }, 206, 'bytes 0-0', 1],
      [{ range: 'bytes=0-99999999999999999999999' }, 206, `bytes 0-${size - 1}`, size],
      [{ range: 'bytes=-1' }, 206, `bytes ${size - 1}-${size - 1}`, 1],
      [{ range: 'bytes=-99999999999999999999' }, 206, `bytes 0-${size - 1}`, size],
      [{ range: `bytes=${size - 1}-` }, 206, `bytes ${size - 1}-${size - 1}`, 1],
      [{ range: 'bytes=-0' }, 416, undefined, -1],
      [{ range: `bytes=${size}-` }, 416, undefined, -1],
      [{ range: `bytes=${'9'.repeat(2000)}-` }, 416, undefined, -1],
      // Invalid or several ranges: the whole file, as RFC 9110 allows.
      [{ range: 'bytes=5-2' }, 200, undefined, size],
      [{ range: 'bytes=-5-2' }, 200, undefined, size],
      [{ range: 'bytes=0-1,4-5' }, 200, undefined, size],
      [{ range: 'bytes=1e2-1e3' }, 200, undefined, size],
      [{ range: 'items=0-1' }, 200, undefined, size],
      // If-Range: a stale or weak ETag, or another date, gets the whole (new) file.
      [{ range: 'bytes=0-3', 'if-range': '"stale"' }, 200, undefined, size],
      [{ range: 'bytes=0-3', 'if-range': `W/${etag}` }, 200, undefined, size],
      [{ range: 'bytes=0-3', 'if-range': 'Thu, 01 Jan 1970 00:00:00 GMT' }, 200, undefined, size],
      [{ range: 'bytes=0-3', 'if-range': etag }, 206, 'bytes 0-3', 4],
      [{ range: 'bytes=0-3', 'if-range': lastModified }, 206, 'bytes 0-3', 4],
      [{ 'if-none-match': `W/${etag}` }, 304, undefined, 0],
      [{ 'if-match': '"nope"' }, 412, undefined, 0],
      [{ 'if-modified-since': 'garbage' }, 200, undefined, size],
    ];
    for (const [headers, status, contentRange, length] of cases) {
      const response = await file(shared, parquet.path, headers);
      const label = JSON.stringify(headers).slice(0, 120);
      expect(response.statusCode, label).toBe(status);
      if (status === 416) {
        expect(response.headers['content-range'], label).toBe(`bytes */${size}`);
        continue;
      }
      if (contentRange) expect(response.headers['content-range'], label).toBe(`${contentRange}/${size}`);
      expect(response.rawPayload.length, label).toBe(length);
      if (status === 206) {
        const start = Number(/bytes (\d+)-/.exec(response.headers['content-range'] as string)?.[1]);
        expect(response.rawPayload.equals(whole.rawPayload.subarray(start, start + length)), label).toBe(true);
      }
    }
  });

  it('proves the first, last and second-shard rows as the files hold them, and refuses rows that do not exist', async () => {
    const rows = await parquetRows(shared);
    const total = shared.stats?.rows ?? 0;
    expect(rows).toHaveLength(total);
    const firstShardRows = shared.files.find((f) => f.kind === 'parquet')?.rows ?? 0;
    for (const n of [0, firstShardRows - 1, firstShardRows, firstShardRows + 1, total - 1]) {
      const response = await proof(shared, n);
      expect(response.statusCode, `row ${n}: ${response.body}`).toBe(200);
      const proven = rowProofSchema.parse(response.json());
      expect(proven.row).toBe(n);
      expectConsistent('pages', proven, shared.merkleRoot);
      expect(proven.values).toEqual(canonical(rows[n] as Record<string, unknown>));
      expect(rowHash('pages', canonical(rows[n] as Record<string, unknown>) as never)).toBe(proven.rowHash);
    }
    expect((await proof(shared, total)).statusCode).toBe(404);
    expect((await proof(shared, total)).json().message).toContain(`${total} rows`);
    for (const n of ['-1', '1.5', 'abc', '1e400', '99999999999999999999']) {
      const response = await proof(shared, n);
      expect(response.statusCode, n).toBe(400);
      expect(response.json().message, n).toContain('params.n');
    }
  });

  it('builds hostile pages (control characters, unicode and odd URLs, 5 MB text, 12 MB HTML) into files every reader agrees on', async () => {
    const control = Array.from({ length: 31 }, (_, i) => String.fromCharCode(i + 1)).join('');
    const pages: SeedPage[] = [
      { text: `control ${control}\u007f\u0085\u2028\u2029\ufeff\ufffe\uffff end`, title: `t\r\n\t"'<>\\` },
      { text: 'unicode url', url: 'https://例え.テスト/パス?q=ü&x=%00#frag' },
      { text: 'space url', url: 'https://example.org/a b\nc' },
      { text: 'x'.repeat(5_000_000) },
      { text: 'big html', html: `<html>${'<p>y</p>'.repeat(1_500_000)}</html>` },
      { text: '', title: '' },
      { text: 'empty lang', lang: '' },
      { text: 'surrogate pair 🎉 and combining e\u0301', title: '🎉' },
      { text: '{"json":"in text"}\n{"another":1}', verification: 'unverified' },
      { text: `emails ${'a@b.co '.repeat(20_000)}` },
    ];
    const { campaignId } = await seedCampaignPages(database(), buyer.id, pages, { keepRawHtml: true });
    const dataset = await built({
      source: { kind: 'campaign', campaignId },
      formats: ['parquet', 'jsonl', 'warc'],
      options: { verification: 'all' },
    });
    expect(dataset.stats?.rows).toBe(pages.length);
    expect(dataset.stats?.emailsRedacted).toBe(20_000);
    const rows = await parquetRows(dataset);
    const jsonl = gunzipSync((await file(dataset, 'jsonl/train.jsonl.gz')).rawPayload)
      .toString('utf8')
      .split('\n')
      .filter((line) => line !== '');
    expect(jsonl).toHaveLength(pages.length);
    for (let n = 0; n < pages.length; n += 1) {
      const response = await proof(dataset, n);
      expect(response.statusCode, `row ${n}`).toBe(200);
      const proven = rowProofSchema.parse(response.json());
      expectConsistent('pages', proven, dataset.merkleRoot);
      expect(rowHash('pages', canonical(rows[n] as Record<string, unknown>) as never), `row ${n}`).toBe(proven.rowHash);
      expect(rowHash('pages', JSON.parse(jsonl[n] as string)), `row ${n}`).toBe(proven.rowHash);
    }
    expect((rows[4] as { raw_html: string }).raw_html.length).toBe(12_000_013);
    // Every CDXJ line is `key timestamp {json}` whatever the URL held.
    const cdxj = (await file(dataset, 'warc/pages.cdxj')).rawPayload.toString('utf8').split('\n').filter(Boolean);
    expect(cdxj).toHaveLength(pages.length + 1);
    for (const line of cdxj) {
      expect(line).toMatch(/^\S+ \d{14} \{.*\}$/);
      expect(() => JSON.parse(line.slice(line.indexOf('{')))).not.toThrow();
    }
    // 15–17 s alone on two cores; beside another heavy file in CI it ran past 30 s.
  }, 90_000);

  it('publishes an empty dataset (no pages, all filtered, no labels) with readable files and no row to prove', async () => {
    const empty = await seedCampaignPages(database(), buyer.id, []);
    const few = await seedCampaignPages(database(), buyer.id, [
      { text: 'a b c', lang: 'en' },
      { text: 'd e f', verification: 'rejected' },
    ]);
    const projects: string[] = [];
    for (const items of [[], [{ id: 'x', content: { type: 'text', text: 'hi' } }]]) {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/projects',
        headers: as(buyer.key),
        payload: { name: 'p', instructions: 'x', labelSchema: { type: 'single_choice', choices: ['a', 'b'] }, items },
      });
      expect(response.statusCode, response.body).toBe(201);
      projects.push(response.json().project.id);
    }
    const bodies = [
      { source: { kind: 'campaign', campaignId: empty.campaignId }, formats: ['parquet', 'jsonl', 'warc'] },
      { source: { kind: 'campaign', campaignId: few.campaignId }, options: { minWords: 1_000_000 } },
      { source: { kind: 'campaign', campaignId: few.campaignId }, options: { languages: ['zz'] } },
      { source: { kind: 'project', projectId: projects[0] }, formats: ['parquet', 'jsonl'] },
      { source: { kind: 'project', projectId: projects[1] } },
    ];
    for (const body of bodies) {
      const dataset = await built(body);
      const label = JSON.stringify(body);
      expect(dataset.stats?.rows, label).toBe(0);
      expect(await parquetRows(dataset), label).toEqual([]);
      const response = await proof(dataset, 0);
      expect(response.statusCode, label).toBe(404);
      for (const entry of await presigned(dataset)) {
        const download = await app.inject({ method: 'GET', url: entry.url });
        expect(download.statusCode, `${label} ${entry.path}`).toBe(200);
        expect(download.rawPayload.length).toBe(dataset.files.find((f) => f.path === entry.path)?.bytes);
      }
    }
  });

  it('cancels a build midway: cancelled, nothing published or left in storage, no URLs', async () => {
    const { campaignId } = await bigCampaign(3000, 300);
    const created = await create({ source: { kind: 'campaign', campaignId }, formats: ['parquet', 'jsonl', 'warc'] });
    const id = created.json().id as string;
    await whileBuilding(id, (d) => d.progress.phase === 'writing' && d.progress.rowsDone > 0);
    const cancelled = await app.inject({ method: 'POST', url: `/v1/datasets/${id}/cancel`, headers: as(buyer.key) });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    await app.workQueue.drain();
    const dataset = await read(id);
    expect(dataset.state).toBe('cancelled');
    expect(dataset.files).toEqual([]);
    expect(await storedFiles(id)).toEqual([]);
    expect(await readdir(settings.scratchDir).catch(() => [])).toEqual([]);
    expect(
      (await app.inject({ method: 'GET', url: `/v1/datasets/${id}/urls`, headers: as(buyer.key) })).statusCode,
    ).toBe(409);
    expect((await proof(dataset, 0)).statusCode).toBe(409);
  });

  it('deletes a build midway: gone from every route and the list, nothing left in storage', async () => {
    const { campaignId } = await bigCampaign(4000, 300);
    const created = await create({ source: { kind: 'campaign', campaignId }, formats: ['parquet', 'jsonl', 'warc'] });
    const id = created.json().id as string;
    await whileBuilding(id, (d) => d.progress.phase === 'writing' && d.progress.rowsDone > 0);
    const removed = await app.inject({ method: 'DELETE', url: `/v1/datasets/${id}`, headers: as(buyer.key) });
    expect(removed.statusCode).toBe(204);
    await app.workQueue.drain();
    expect((await app.inject({ method: 'GET', url: `/v1/datasets/${id}`, headers: as(buyer.key) })).statusCode).toBe(
      404,
    );
    const listed = await app.inject({ method: 'GET', url: '/v1/datasets?limit=100', headers: as(buyer.key) });
    expect(listed.json().datasets.map((d: { id: string }) => d.id)).not.toContain(id);
    expect(await storedFiles(id)).toEqual([]);
    expect((await app.inject({ method: 'DELETE', url: `/v1/datasets/${id}`, headers: as(buyer.key) })).statusCode).toBe(
      404,
    );
  });

  it('keeps the snapshot frozen while the campaign receives pages and verifications during the build', async () => {
    const { campaignId } = await bigCampaign(5000, 200);
    const late = await seedCampaignPages(
      database(),
      buyer.id,
      Array.from({ length: 5 }, (_, i) => ({ text: words(6000 + i, 50) })),
    );
    const pending = await seedCampaignPages(database(), buyer.id, [
      { text: words(7000, 50), verification: 'unverified' },
    ]);
    const moveInto = async (from: string) => {
      await database().query('update jobs set campaign_id = $1 where campaign_id = $2', [campaignId, from]);
      await database().query('update pages set campaign_id = $1 where campaign_id = $2', [campaignId, from]);
    };
    await moveInto(pending.campaignId);
    const created = await create({ source: { kind: 'campaign', campaignId } });
    const id = created.json().id as string;
    await whileBuilding(id, (d) => d.snapshotAt !== null);
    await moveInto(late.campaignId);
    await database().query(`update pages set verification = 'verified' where id = $1`, [pending.pageIds[0]]);
    await app.workQueue.drain();
    const dataset = await read(id);
    expect(dataset.state).toBe('ready');
    expect(dataset.stats).toMatchObject({ sourceRows: 201, notVerified: 1, rows: 200 });
    const urls = new Set((await parquetRows(dataset)).map((row) => row.url));
    expect(urls.size).toBe(200);
  });

  it('builds two datasets at once on a second server without mixing their rows', async () => {
    const second = await buildTestApp(database(), {}, { datasets: settings, work: { concurrency: 2, pollMs: 0 } });
    try {
      const a = await bigCampaign(8000, 120);
      const b = await bigCampaign(9000, 80);
      const ids: string[] = [];
      for (const campaignId of [a.campaignId, b.campaignId]) {
        const response = await second.inject({
          method: 'POST',
          url: '/v1/datasets',
          headers: as(buyer.key),
          payload: { source: { kind: 'campaign', campaignId }, formats: ['parquet', 'jsonl', 'warc'] },
        });
        expect(response.statusCode, response.body).toBe(201);
        ids.push(response.json().id);
      }
      await second.workQueue.drain();
      const [bigger, smaller] = await Promise.all(ids.map(read));
      if (!bigger || !smaller) throw new Error('missing dataset');
      expect([bigger.state, smaller.state]).toEqual(['ready', 'ready']);
      const biggerUrls = new Set((await parquetRows(bigger)).map((row) => row.url));
      const smallerUrls = (await parquetRows(smaller)).map((row) => row.url);
      expect(biggerUrls.size).toBe(120);
      expect(smallerUrls).toHaveLength(80);
      expect(smallerUrls.filter((url) => biggerUrls.has(url))).toEqual([]);
    } finally {
      await second.close();
    }
  });

  it('proves label rows with awkward floats and text exactly as Parquet and JSONL hold them', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: as(buyer.key),
      payload: {
        name: 'floats',
        instructions: 'x',
        labelSchema: { type: 'single_choice', choices: ['a', 'b'] },
        items: [
          ...Array.from({ length: 5 }, (_, i) => ({
            id: `item-${i} "quoted" \u2028 漢字`,
            content: { type: 'text', text: `t${i} \u0001\u001f 🎉` },
          })),
          ...Array.from({ length: 3 }, (_, i) => ({
            id: `gold-${i}`,
            content: { type: 'text', text: `g${i}` },
            gold: { type: 'single_choice', choice: 'a' },
          })),
        ],
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const projectId = created.json().project.id as string;
    const items = await database().query<{ id: string; gold: string | null }>(
      'select id::text, gold_answer as gold from project_items where project_id = $1 order by id',
      [projectId],
    );
    const devices = ['0x2222222222222222222222222222222222222222', '0x3333333333333333333333333333333333333333'];
    for (const device of devices) {
      await database().query(
        `insert into devices (address, extension_version, browser) values ($1, '0.1.0', 'chrome') on conflict do nothing`,
        [device],
      );
    }
    const confidences = [1e-7, 0.1 + 0.2, 1, 0, 2 / 3];
    let regular = 0;
    for (const item of items) {
      for (const [index, device] of devices.entries()) {
        const [assignment] = await database().query<{ id: string }>(
          `insert into task_assignments (item_id, project_id, device, expires_at, state)
           values ($1, $2, $3, now(), 'done') returning id::text`,
          [item.id, projectId, device],
        );
        const isGold = item.gold !== null;
        await database().query(
          `insert into labels (assignment_id, item_id, project_id, device, value, is_gold, gold_correct, labeled_at)
           values ($1, $2, $3, $4, $5, $6, $7, now())`,
          [
            assignment?.id,
            item.id,
            projectId,
            device,
            JSON.stringify({ type: 'single_choice', choice: index === 0 ? 'a' : 'b' }),
            isGold,
            isGold ? index === 0 : null,
          ],
        );
      }
      if (item.gold === null) {
        await database().query(
          `insert into aggregated_labels (item_id, project_id, label, confidence, method) values ($1, $2, 'a', $3, 'dawid-skene')`,
          [item.id, projectId, confidences[regular]],
        );
        await database().query('update project_items set complete = true where id = $1', [item.id]);
        regular += 1;
      }
    }
    const dataset = await built({
      source: { kind: 'project', projectId },
      formats: ['parquet', 'jsonl'],
      options: { verification: 'all' },
    });
    expect(dataset.stats?.rows).toBe(5);
    const rows = await parquetRows(dataset);
    const jsonl = gunzipSync((await file(dataset, 'jsonl/train.jsonl.gz')).rawPayload)
      .toString('utf8')
      .split('\n')
      .filter(Boolean);
    for (let n = 0; n < 5; n += 1) {
      const proven = rowProofSchema.parse((await proof(dataset, n)).json());
      expectConsistent('labels', proven, dataset.merkleRoot);
      expect(proven.values.confidence).toBe(confidences[n]);
      expect(rowHash('labels', JSON.parse(jsonl[n] as string))).toBe(proven.rowHash);
      expect(rowHash('labels', rows[n] as never)).toBe(proven.rowHash);
    }
  });

  it('refuses every malformed create, list and URL request with a 4xx that names the field', async () => {
    const source = { kind: 'campaign', campaignId: sharedCampaign };
    const cases: Array<[unknown, string]> = [
      [[], 'body'],
      [{}, 'body.source'],
      [{ source: 'x' }, 'body.source'],
      [{ source: { kind: 'campaign' } }, 'body.source.campaignId'],
      [{ source: { kind: 'campaign', campaignId: 'nope' } }, 'body.source.campaignId'],
      [{ source: { kind: 'dataset', campaignId: sharedCampaign } }, 'body.source.kind'],
      [{ source, formats: [] }, 'body.formats'],
      [{ source, formats: ['parquet', 'parquet'] }, 'each format once'],
      [{ source, formats: 'parquet' }, 'body.formats'],
      [{ source, formats: Array(100_000).fill('parquet') }, 'body.formats'],
      [{ source, formats: ['csv'] }, 'body.formats'],
      [{ source, name: '   ' }, 'body.name'],
      [{ source, name: 'x'.repeat(201) }, 'body.name'],
      [{ source, name: 5 }, 'body.name'],
      [{ source, options: null }, 'body.options'],
      [{ source, options: { license: 'Cc-By' } }, 'body.options.license'],
      [{ source, options: { license: '-x' } }, 'body.options.license'],
      [{ source, options: { license: 'a'.repeat(65) } }, 'body.options.license'],
      [{ source, options: { license: 'cc by' } }, 'body.options.license'],
      [{ source, options: { minWords: -1 } }, 'body.options.minWords'],
      [{ source, options: { minWords: 1.5 } }, 'body.options.minWords'],
      [{ source, options: { minWords: '10' } }, 'body.options.minWords'],
      [{ source, options: { minWords: 1_000_001 } }, 'body.options.minWords'],
      [{ source, options: { languages: 'en' } }, 'body.options.languages'],
      [{ source, options: { languages: ['english'] } }, 'body.options.languages.0'],
      [{ source, options: { languages: Array(51).fill('en') } }, 'body.options.languages'],
      [{ source, options: { verification: 'some' } }, 'body.options.verification'],
      [{ source, options: { redactPii: 'yes' } }, 'body.options.redactPii'],
    ];
    for (const [body, named] of cases) {
      const response = await create(body);
      const label = JSON.stringify(body).slice(0, 120);
      expect(response.statusCode, label).toBe(400);
      expect(response.json().message, label).toContain(named);
    }
    const truncated = await app.inject({
      method: 'POST',
      url: '/v1/datasets',
      headers: { ...as(buyer.key), 'content-type': 'application/json' },
      payload: '{"source":',
    });
    expect(truncated.statusCode).toBe(400);
    expect(truncated.json().message).toMatch(/JSON/);
    const warcOfProject = await app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: as(buyer.key),
      payload: { name: 'w', instructions: 'x', labelSchema: { type: 'single_choice', choices: ['a', 'b'] }, items: [] },
    });
    const refused = await create({
      source: { kind: 'project', projectId: warcOfProject.json().project.id },
      formats: ['warc'],
    });
    expect(refused.statusCode).toBe(400);
    expect(refused.json().message).toMatch(/WARC/);

    for (const [query, named] of [
      ['limit=0', 'querystring.limit'],
      ['limit=101', 'querystring.limit'],
      ['limit=abc', 'querystring.limit'],
      [`before=${'x'.repeat(201)}`, 'querystring.before'],
      ['before=%00', 'before is not a cursor'],
      ['before=eyJ9', 'before is not a cursor'],
    ]) {
      const response = await app.inject({ method: 'GET', url: `/v1/datasets?${query}`, headers: as(buyer.key) });
      expect(response.statusCode, query).toBe(400);
      expect(response.json().message, query).toContain(named);
    }
    for (const query of ['expiresIn=59', 'expiresIn=604801', 'expiresIn=abc', 'expiresIn=60.5']) {
      const response = await app.inject({
        method: 'GET',
        url: `/v1/datasets/${shared.id}/urls?${query}`,
        headers: as(buyer.key),
      });
      expect(response.statusCode, query).toBe(400);
      expect(response.json().message, query).toContain('querystring.expiresIn');
    }
  });
});
