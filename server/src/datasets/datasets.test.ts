import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { canonicalRowJson, pageColumns, rowHash } from '@protocol/dataset-rows';
import { type Dataset, datasetSchema, datasetUrlsSchema, rowProofSchema } from '@protocol/datasets';
import type { FastifyInstance } from 'fastify';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { buildTestApp } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { signDownloadPath } from './download-urls';
import { type TemporaryDatasetSettings, temporaryDatasetSettings } from './temporary-dataset-settings';
import { createBuyer, type SeedPage, seedCampaignPages } from './test-fixtures';

const words = (seed: number, count: number) =>
  Array.from({ length: count }, (_, i) => `word${(seed * 7919 + i * 104729) % 5000}`).join(' ');

describeEachDatabase('datasets: frozen snapshots, files, downloads and proofs', (database) => {
  let app: FastifyInstance;
  let settings: TemporaryDatasetSettings;
  let buyer: { key: string; id: string };
  let other: { key: string; id: string };

  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  const createDataset = async (body: Record<string, unknown>, key = buyer.key) => {
    const response = await app.inject({ method: 'POST', url: '/v1/datasets', headers: as(key), payload: body });
    return response;
  };
  const built = async (body: Record<string, unknown>): Promise<Dataset> => {
    const response = await createDataset(body);
    expect(response.statusCode, response.body).toBe(201);
    const { id } = datasetSchema.parse(response.json());
    await app.workQueue.drain();
    const read = await app.inject({ method: 'GET', url: `/v1/datasets/${id}`, headers: as(buyer.key) });
    const dataset = datasetSchema.parse(read.json());
    expect(dataset.error).toBeNull();
    expect(dataset.state).toBe('ready');
    return dataset;
  };
  const download = async (dataset: Dataset, path: string) => {
    const response = await app.inject({
      method: 'GET',
      url: `/v1/datasets/${dataset.id}/files/${path}`,
      headers: as(buyer.key),
    });
    expect(response.statusCode, response.body).toBe(200);
    return response.rawPayload;
  };
  const parquetRows = async (dataset: Dataset) => {
    const rows: Record<string, unknown>[] = [];
    for (const file of dataset.files.filter((f) => f.kind === 'parquet')) {
      const bytes = await download(dataset, file.path);
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      rows.push(...(await parquetReadObjects({ file: buffer, compressors })));
    }
    return rows;
  };

  beforeAll(async () => {
    settings = await temporaryDatasetSettings({
      batchSize: 7,
      progressIntervalMs: 0,
      // Small enough that 60 pages make several row groups and several shards.
      rowGroupBytes: 16 * 1024,
      shardBytes: 40 * 1024,
    });
    app = await buildTestApp(database(), {}, { datasets: settings, work: { concurrency: 1, pollMs: 0 } });
    buyer = await createBuyer(app, 'Buyer One');
    other = await createBuyer(app, 'Buyer Two');
  });
  afterAll(async () => {
    await app.close();
    await settings.storage.close();
  });

  it('builds Parquet shards, JSONL.gz and WARC that independent readers read back row for row', async () => {
    const pages: SeedPage[] = Array.from({ length: 60 }, (_, i) => ({
      text: `${words(i, 300)} émoji 🎉 漢字 ${i}`,
      html: i % 3 === 0 ? `<html><body><p>${i}</p></body></html>` : null,
    }));
    const { campaignId } = await seedCampaignPages(database(), buyer.id, pages, { keepRawHtml: true });
    const dataset = await built({
      source: { kind: 'campaign', campaignId },
      formats: ['parquet', 'jsonl', 'warc'],
      options: { license: 'cc-by-4.0', redactPii: false },
    });
    const shards = dataset.files.filter((file) => file.kind === 'parquet');
    expect(shards.length).toBeGreaterThan(1);
    for (const [index, shard] of shards.entries()) {
      expect(shard.path).toBe(
        `data/train-${String(index).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.parquet`,
      );
    }
    expect(dataset.files.map((file) => file.kind).sort()).toEqual(
      ['card', 'cdxj', 'croissant', 'jsonl', 'warc', ...shards.map(() => 'parquet')].sort(),
    );

    // Every listed size and hash is the served file's.
    for (const file of dataset.files) {
      const bytes = await download(dataset, file.path);
      expect(bytes.length, file.path).toBe(file.bytes);
      expect(createHash('sha256').update(bytes).digest('hex'), file.path).toBe(file.sha256);
    }

    // hyparquet: every page, its text hash right.
    const rows = await parquetRows(dataset);
    expect(rows).toHaveLength(60);
    expect(shards.reduce((sum, shard) => sum + (shard.rows ?? 0), 0)).toBe(60);
    for (const row of rows) {
      expect(
        createHash('sha256')
          .update(row.text as string)
          .digest('hex'),
      ).toBe(row.text_sha256);
    }
    expect(new Set(rows.map((row) => row.url)).size).toBe(60);
    expect(rows.filter((row) => row.raw_html !== null)).toHaveLength(20);

    // DuckDB reads the same files from disk: same count, same schema, same hashes.
    const duck = await DuckDBInstance.create(':memory:');
    const connection = await duck.connect();
    const local = await mkdtemp(join(tmpdir(), 'gleaner-duck-'));
    for (const shard of shards) {
      await writeFile(join(local, shard.path.split('/').at(-1) as string), await download(dataset, shard.path));
    }
    const counted = await connection.runAndReadAll(
      `select count(*)::int as n, count(distinct text_sha256)::int as hashes,
              sum(case when sha256(text) = text_sha256 then 1 else 0 end)::int as matching
         from read_parquet('${local}/*.parquet')`,
    );
    expect(counted.getRowObjects()[0]).toEqual({ n: 60, hashes: 60, matching: 60 });
    const described = await connection.runAndReadAll(`describe select * from read_parquet('${local}/*.parquet')`);
    expect(described.getRowObjects().map((row) => row.column_name)).toEqual(pageColumns.map((column) => column.name));
    connection.closeSync();
    await rm(local, { recursive: true, force: true });

    // The card's YAML parses and names every feature; Croissant's hashes are the files'.
    const card = (await download(dataset, 'README.md')).toString('utf8');
    const front = parseYaml(card.split(/^---$/m)[1] as string) as {
      license: string;
      dataset_info: { features: Array<{ name: string }> };
    };
    expect(front.license).toBe('cc-by-4.0');
    expect(front.dataset_info.features.map((feature) => feature.name)).toEqual(pageColumns.map((c) => c.name));
    expect(card).toContain(dataset.merkleRoot as string);
    const croissant = JSON.parse((await download(dataset, 'croissant.json')).toString('utf8')) as {
      distribution: Array<{ contentUrl?: string; sha256?: string }>;
    };
    for (const file of dataset.files.filter((f) => f.kind !== 'card' && f.kind !== 'croissant')) {
      const entry = croissant.distribution.find((item) => item.contentUrl === file.path);
      expect(entry?.sha256, file.path).toBe(file.sha256);
    }
  });

  it('counts and applies every cleaning option, and redacts e-mail addresses and phone numbers by default', async () => {
    const base = words(1, 50);
    const { campaignId } = await seedCampaignPages(database(), buyer.id, [
      { text: `${base} write to jane.doe+news@example.org or call +44 20 7946 0958` },
      { text: `${base} write to jane.doe+news@example.org or call +44 20 7946 0958` },
      { text: words(2, 50), verification: 'unverified' },
      { text: words(3, 3) },
      { text: words(4, 60), lang: 'fr' },
      { text: words(5, 60), lang: 'en-GB' },
    ]);
    const dataset = await built({
      source: { kind: 'campaign', campaignId },
      options: { minWords: 10, languages: ['en'] },
    });
    expect(dataset.stats).toMatchObject({
      sourceRows: 6,
      notVerified: 1,
      exactDuplicates: 1,
      tooShort: 1,
      otherLanguage: 1,
      emailsRedacted: 1,
      phonesRedacted: 1,
      rows: 2,
    });
    const rows = await parquetRows(dataset);
    expect(rows).toHaveLength(2);
    const text = rows.map((row) => row.text as string).join('\n');
    expect(text).not.toContain('jane.doe');
    expect(text).not.toContain('7946');
    for (const row of rows)
      expect(
        createHash('sha256')
          .update(row.text as string)
          .digest('hex'),
      ).toBe(row.text_sha256);
  });

  it('is a frozen snapshot: a page verified after the build changes nothing in the built files', async () => {
    const { campaignId, pageIds } = await seedCampaignPages(database(), buyer.id, [
      { text: words(10, 40) },
      { text: words(11, 40), verification: 'unverified' },
    ]);
    const first = await built({ source: { kind: 'campaign', campaignId } });
    const before = await download(first, 'data/train-00000-of-00001.parquet');
    await database().query(`update pages set verification = 'verified' where id = $1`, [pageIds[1]]);
    await database().query(`update pages set title = 'changed' where id = $1`, [pageIds[0]]);

    const again = datasetSchema.parse(
      (await app.inject({ method: 'GET', url: `/v1/datasets/${first.id}`, headers: as(buyer.key) })).json(),
    );
    expect(again.files).toEqual(first.files);
    expect(await download(first, 'data/train-00000-of-00001.parquet')).toEqual(before);
    expect(first.stats?.rows).toBe(1);

    const second = await built({ source: { kind: 'campaign', campaignId } });
    expect(second.stats?.rows).toBe(2);
  });

  it('proves any row against the root with an independent verifier, and a tampered row fails', async () => {
    const { campaignId } = await seedCampaignPages(
      database(),
      buyer.id,
      Array.from({ length: 23 }, (_, i) => ({ text: words(100 + i, 200) })),
    );
    const dataset = await built({ source: { kind: 'campaign', campaignId } });
    const rows = await parquetRows(dataset);
    for (const n of [0, 1, 11, 22]) {
      const response = await app.inject({
        method: 'GET',
        url: `/v1/datasets/${dataset.id}/rows/${n}/proof`,
        headers: as(buyer.key),
      });
      expect(response.statusCode, response.body).toBe(200);
      const proof = rowProofSchema.parse(response.json());
      expect(proof.root).toBe(dataset.merkleRoot);
      // The proven row is the row in the file, and its hash is recomputable from the file alone.
      const fileRow = rows[n] as Record<string, unknown>;
      const recomputed = rowHash('pages', {
        ...fileRow,
        fetched_at: (fileRow.fetched_at as Date).toISOString(),
        near_dup_cluster: fileRow.near_dup_cluster === null ? null : Number(fileRow.near_dup_cluster),
      } as never);
      expect(proof.rowHash).toBe(recomputed);
      expect(StandardMerkleTree.verify(proof.root, ['bytes32'], [proof.rowHash], proof.proof)).toBe(true);
      const tampered = { ...(proof.values as Record<string, unknown>), text: `${proof.values.text as string}!` };
      const tamperedHash = rowHash('pages', tampered as never);
      expect(StandardMerkleTree.verify(proof.root, ['bytes32'], [tamperedHash], proof.proof)).toBe(false);
      expect(canonicalRowJson('pages', proof.values as never)).toContain('"url"');
    }
    const beyond = await app.inject({
      method: 'GET',
      url: `/v1/datasets/${dataset.id}/rows/23/proof`,
      headers: as(buyer.key),
    });
    expect(beyond.statusCode).toBe(404);
  });

  it('serves pre-signed URLs with no header, and answers 403 to an altered or expired one', async () => {
    const { campaignId } = await seedCampaignPages(database(), buyer.id, [{ text: words(200, 30) }]);
    const dataset = await built({ source: { kind: 'campaign', campaignId } });
    const urls = datasetUrlsSchema.parse(
      (await app.inject({ method: 'GET', url: `/v1/datasets/${dataset.id}/urls`, headers: as(buyer.key) })).json(),
    );
    const parquet = urls.files.find((file) => file.path.endsWith('.parquet'));
    if (!parquet) throw new Error('no Parquet file among the URLs');
    expect(parquet.url).toMatch(/^http:\/\/localhost(:\d+)?\/v1\/files\/.*\.parquet\?/);
    const path = (url: string) => url.replace(/^https?:\/\/[^/]+/, '');
    const ok = await app.inject({ method: 'GET', url: path(parquet.url) });
    expect(ok.statusCode).toBe(200);
    expect(createHash('sha256').update(ok.rawPayload).digest('hex')).toBe(dataset.files[0]?.sha256);
    const ranged = await app.inject({ method: 'GET', url: path(parquet.url), headers: { range: 'bytes=0-3' } });
    expect(ranged.statusCode).toBe(206);
    expect(ranged.rawPayload.toString('latin1')).toBe('PAR1');

    const altered = path(parquet.url).replace(/signature=([0-9a-f])/, (_, c) => `signature=${c === 'a' ? 'b' : 'a'}`);
    expect((await app.inject({ method: 'GET', url: altered })).statusCode).toBe(403);
    const otherFile = path(parquet.url).replace(/\/data\/[^?]+/, '/README.md');
    expect((await app.inject({ method: 'GET', url: otherFile })).statusCode).toBe(403);
    const expired = signDownloadPath(
      { datasetId: dataset.id, path: parquet.path, expiresAt: new Date(Date.now() - 1000) },
      settings.urlSecret,
    );
    const expiredResponse = await app.inject({ method: 'GET', url: expired });
    expect(expiredResponse.statusCode).toBe(403);
    expect(expiredResponse.json()).toMatchObject({ code: 'download_url_invalid' });

    // Deleting the dataset ends its URLs at once.
    const removed = await app.inject({ method: 'DELETE', url: `/v1/datasets/${dataset.id}`, headers: as(buyer.key) });
    expect(removed.statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: path(parquet.url) })).statusCode).toBe(404);
  });

  it("answers 404 to another buyer for everything of a buyer's dataset, and for building from their campaign", async () => {
    const { campaignId } = await seedCampaignPages(database(), buyer.id, [{ text: words(300, 30) }]);
    const dataset = await built({ source: { kind: 'campaign', campaignId } });
    const requests: Array<{ method: 'GET' | 'POST' | 'DELETE'; url: string }> = [
      { method: 'GET', url: `/v1/datasets/${dataset.id}` },
      { method: 'GET', url: `/v1/datasets/${dataset.id}/urls` },
      { method: 'GET', url: `/v1/datasets/${dataset.id}/files/README.md` },
      { method: 'GET', url: `/v1/datasets/${dataset.id}/files/data/train-00000-of-00001.parquet` },
      { method: 'GET', url: `/v1/datasets/${dataset.id}/rows/0/proof` },
      { method: 'POST', url: `/v1/datasets/${dataset.id}/cancel` },
      { method: 'DELETE', url: `/v1/datasets/${dataset.id}` },
    ];
    for (const request of requests) {
      const response = await app.inject({ ...request, headers: as(other.key) });
      expect(response.statusCode, `${request.method} ${request.url}`).toBe(404);
    }
    const listed = await app.inject({ method: 'GET', url: '/v1/datasets', headers: as(other.key) });
    expect((listed.json() as { datasets: unknown[] }).datasets).toEqual([]);
    const stolen = await createDataset({ source: { kind: 'campaign', campaignId } }, other.key);
    expect(stolen.statusCode).toBe(404);
    // The owner still has it all.
    expect(
      (await app.inject({ method: 'GET', url: `/v1/datasets/${dataset.id}`, headers: as(buyer.key) })).statusCode,
    ).toBe(200);
  });

  it('cancels a build: nothing is published, its files are gone, and a second cancel is refused', async () => {
    const { campaignId } = await seedCampaignPages(
      database(),
      buyer.id,
      Array.from({ length: 30 }, (_, i) => ({ text: words(500 + i, 100) })),
    );
    const created = await createDataset({ source: { kind: 'campaign', campaignId } });
    const { id } = created.json() as { id: string };
    const cancelled = await app.inject({ method: 'POST', url: `/v1/datasets/${id}/cancel`, headers: as(buyer.key) });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    await app.workQueue.drain();
    const dataset = datasetSchema.parse(
      (await app.inject({ method: 'GET', url: `/v1/datasets/${id}`, headers: as(buyer.key) })).json(),
    );
    expect(dataset.state).toBe('cancelled');
    expect(dataset.files).toEqual([]);
    expect(await settings.storage.stat(`datasets/${id}/data/train-00000-of-00001.parquet`)).toBeNull();
    const urls = await app.inject({ method: 'GET', url: `/v1/datasets/${id}/urls`, headers: as(buyer.key) });
    expect(urls.statusCode).toBe(409);
    const again = await app.inject({ method: 'POST', url: `/v1/datasets/${id}/cancel`, headers: as(buyer.key) });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'conflict' });
  });

  it('refuses a WARC of a project and a dataset of a campaign that does not exist, saying why', async () => {
    const warc = await createDataset({
      source: { kind: 'project', projectId: '00000000-0000-4000-8000-000000000000' },
      formats: ['warc'],
    });
    expect(warc.statusCode).toBe(404);
    const badFormat = await createDataset({
      source: { kind: 'campaign', campaignId: '00000000-0000-4000-8000-000000000000' },
      formats: ['csv'],
    });
    expect(badFormat.statusCode).toBe(400);
    expect(badFormat.json().message).toMatch(/formats/);
    const badLicense = await createDataset({
      source: { kind: 'campaign', campaignId: '00000000-0000-4000-8000-000000000000' },
      options: { license: 'CC BY 4.0!' },
    });
    expect(badLicense.statusCode).toBe(400);
    expect(badLicense.json().message).toMatch(/license/);
  });

  it('documents every dataset route in the OpenAPI document', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { summary?: string }>>;
    };
    const routes = [
      ['post', '/v1/datasets'],
      ['get', '/v1/datasets'],
      ['get', '/v1/datasets/{datasetId}'],
      ['post', '/v1/datasets/{datasetId}/cancel'],
      ['delete', '/v1/datasets/{datasetId}'],
      ['get', '/v1/datasets/{datasetId}/urls'],
      ['get', '/v1/datasets/{datasetId}/files/{*}'],
      ['get', '/v1/datasets/{datasetId}/rows/{n}/proof'],
      ['get', '/v1/files/{datasetId}/{*}'],
    ] as const;
    for (const [method, path] of routes) {
      expect(spec.paths[path]?.[method]?.summary, `${method} ${path}`).toBeTruthy();
    }
  });

  it('lists datasets newest first, a page at a time', async () => {
    const { campaignId } = await seedCampaignPages(database(), other.id, [{ text: words(400, 30) }]);
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const response = await createDataset({ source: { kind: 'campaign', campaignId }, name: `d${i}` }, other.key);
      ids.push((response.json() as { id: string }).id);
    }
    const first = await app.inject({ method: 'GET', url: '/v1/datasets?limit=2', headers: as(other.key) });
    const page = first.json() as { datasets: Array<{ id: string }>; next: string };
    const second = await app.inject({
      method: 'GET',
      url: `/v1/datasets?limit=2&before=${page.next}`,
      headers: as(other.key),
    });
    const rest = second.json() as { datasets: Array<{ id: string }>; next: string | null };
    expect([...page.datasets, ...rest.datasets].map((d) => d.id)).toEqual([...ids].reverse());
    expect(rest.next).toBeNull();
    // Created within one microsecond: the cursor keeps microseconds and breaks ties by id.
    await database().query('update datasets set created_at = $1 where id = any($2::uuid[])', [
      '2026-01-01T00:00:00.000001Z',
      ids,
    ]);
    const seen: string[] = [];
    let next: string | null = null;
    do {
      const response = await app.inject({
        method: 'GET',
        url: `/v1/datasets?limit=1${next ? `&before=${next}` : ''}`,
        headers: as(other.key),
      });
      const listed = response.json() as { datasets: Array<{ id: string }>; next: string | null };
      seen.push(...listed.datasets.map((d) => d.id));
      next = listed.next;
    } while (next);
    expect([...seen].sort()).toEqual([...ids].sort());
    expect(new Set(seen).size).toBe(3);
    const garbage = await app.inject({ method: 'GET', url: '/v1/datasets?before=nonsense', headers: as(other.key) });
    expect(garbage.statusCode).toBe(400);
    await app.workQueue.drain();
  });
});
