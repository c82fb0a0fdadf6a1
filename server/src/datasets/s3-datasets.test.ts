import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { datasetSchema, datasetUrlsSchema } from '@protocol/datasets';
import type { FastifyInstance } from 'fastify';
import { parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { type DatasetSettings, defaultBuildSizes } from './dataset-settings';
import { type LocalS3, startLocalS3 } from './storage/local-s3-server';
import { createS3Storage } from './storage/s3-storage';
import { createBuyer, seedCampaignPages } from './test-fixtures';

describeEachDatabase('datasets on S3-compatible object storage', (database) => {
  let app: FastifyInstance;
  let s3: LocalS3;
  let settings: DatasetSettings;
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'gleaner-s3-datasets-'));
    s3 = await startLocalS3('gleaner-datasets');
    settings = {
      ...defaultBuildSizes,
      storage: createS3Storage({
        bucket: 'gleaner-datasets',
        region: 'us-east-1',
        endpoint: s3.endpoint,
        forcePathStyle: true,
        credentials: s3.credentials,
        deleteBatchSize: 1,
      }),
      urlSecret: randomBytes(32).toString('hex'),
      scratchDir: join(folder, 'scratch'),
    };
    app = await buildTestApp(database(), {}, { datasets: settings, work: { concurrency: 1, pollMs: 0 } });
  });
  afterAll(async () => {
    await app.close();
    await settings.storage.close();
    await s3.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it('builds into the bucket and serves the files through pre-signed URLs with ranges', async () => {
    const buyer = await createBuyer(app);
    const { campaignId } = await seedCampaignPages(
      database(),
      buyer.id,
      Array.from({ length: 12 }, (_, i) => ({ text: `page ${i} ${'lorem ipsum '.repeat(50 + i)}` })),
    );
    const headers = { authorization: `Bearer ${buyer.key}` };
    const created = await app.inject({
      method: 'POST',
      url: '/v1/datasets',
      headers,
      payload: { source: { kind: 'campaign', campaignId }, formats: ['parquet', 'jsonl', 'warc'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    await app.workQueue.drain();
    const dataset = datasetSchema.parse(
      (await app.inject({ method: 'GET', url: `/v1/datasets/${created.json().id}`, headers })).json(),
    );
    expect(dataset.state, dataset.error ?? '').toBe('ready');
    // Nothing of the build's staging area is left in the bucket.
    expect(await settings.storage.stat(`datasets/${dataset.id}/staging/data/part-00000.parquet`)).toBeNull();

    const urls = datasetUrlsSchema.parse(
      (await app.inject({ method: 'GET', url: `/v1/datasets/${dataset.id}/urls`, headers })).json(),
    );
    for (const file of dataset.files) {
      const url = urls.files.find((entry) => entry.path === file.path)?.url as string;
      const response = await app.inject({ method: 'GET', url: url.replace(/^https?:\/\/[^/]+/, '') });
      expect(response.statusCode, file.path).toBe(200);
      expect(createHash('sha256').update(response.rawPayload).digest('hex'), file.path).toBe(file.sha256);
      if (file.kind === 'parquet') {
        const bytes = response.rawPayload;
        const rows = await parquetReadObjects({
          file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
          compressors,
        });
        expect(rows).toHaveLength(12);
        const tail = await app.inject({
          method: 'GET',
          url: url.replace(/^https?:\/\/[^/]+/, ''),
          headers: { range: 'bytes=-4' },
        });
        expect(tail.statusCode).toBe(206);
        expect(tail.rawPayload.toString('latin1')).toBe('PAR1');
      }
    }
    const proof = await app.inject({ method: 'GET', url: `/v1/datasets/${dataset.id}/rows/5/proof`, headers });
    expect(proof.statusCode, proof.body).toBe(200);
    expect(proof.json().root).toBe(dataset.merkleRoot);

    const removed = await app.inject({ method: 'DELETE', url: `/v1/datasets/${dataset.id}`, headers });
    expect(removed.statusCode).toBe(204);
    expect(await settings.storage.stat(`datasets/${dataset.id}/README.md`)).toBeNull();
  });
});
