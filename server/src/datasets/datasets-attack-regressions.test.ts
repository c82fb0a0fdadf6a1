import { readdir, readlink } from 'node:fs/promises';
import { type Dataset, datasetSchema } from '@protocol/datasets';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { type TemporaryDatasetSettings, temporaryDatasetSettings } from './temporary-dataset-settings';
import { createBuyer, seedCampaignPages } from './test-fixtures';

const words = (seed: number, count: number) =>
  Array.from({ length: count }, (_, i) => `w${(seed * 7919 + i * 104729) % 9973}`).join(' ');

describeEachDatabase('dataset defects found by attack', (database) => {
  let app: FastifyInstance;
  let settings: TemporaryDatasetSettings;
  let buyer: { key: string; id: string };
  const as = () => ({ authorization: `Bearer ${buyer.key}` });
  const read = async (id: string) =>
    datasetSchema.parse((await app.inject({ method: 'GET', url: `/v1/datasets/${id}`, headers: as() })).json());
  const built = async (body: unknown): Promise<Dataset> => {
    const response = await app.inject({ method: 'POST', url: '/v1/datasets', headers: as(), payload: body as object });
    expect(response.statusCode, response.body).toBe(201);
    await app.workQueue.drain();
    const dataset = await read(response.json().id);
    expect(dataset.state).toBe('ready');
    return dataset;
  };
  const storedFiles = (id: string) => settings.storedFiles(id);

  beforeAll(async () => {
    settings = await temporaryDatasetSettings({
      batchSize: 5,
      progressIntervalMs: 0,
      rowGroupBytes: 8 * 1024,
      shardBytes: 24 * 1024,
    });
    app = await buildTestApp(database(), {}, { datasets: settings, work: { concurrency: 1, pollMs: 0 } });
    buyer = await createBuyer(app, 'Defect Buyer');
  });
  afterAll(async () => {
    await app.close();
    await settings.storage.close();
  });

  // D1
  it('treats an upper-case dataset id like the lower-case one on every route (the route accepts it)', async () => {
    const { campaignId } = await seedCampaignPages(database(), buyer.id, [{ text: words(1, 40) }]);
    const dataset = await built({ source: { kind: 'campaign', campaignId } });
    const upper = dataset.id.toUpperCase();
    expect((await app.inject({ method: 'GET', url: `/v1/datasets/${upper}`, headers: as() })).statusCode).toBe(200);
    const download = await app.inject({ method: 'GET', url: `/v1/datasets/${upper}/files/README.md`, headers: as() });
    expect(download.statusCode, download.body).toBe(200);
    const proof = await app.inject({ method: 'GET', url: `/v1/datasets/${upper}/rows/0/proof`, headers: as() });
    expect(proof.statusCode, proof.body).toBe(200);
    const urls = await app.inject({ method: 'GET', url: `/v1/datasets/${upper}/urls`, headers: as() });
    const readme = (urls.json() as { files: Array<{ path: string; url: string }> }).files.find(
      (file) => file.path === 'README.md',
    );
    const viaUrl = await app.inject({ method: 'GET', url: (readme?.url ?? '').replace(/^https?:\/\/[^/]+/, '') });
    expect(viaUrl.statusCode, viaUrl.body).toBe(200);
    const removed = await app.inject({ method: 'DELETE', url: `/v1/datasets/${upper}`, headers: as() });
    expect(removed.statusCode).toBe(204);
    expect(await storedFiles(dataset.id)).toEqual([]);
  });

  // D2
  it('refuses a dataset name holding a NUL character with a 400, not a 500', async () => {
    const { campaignId } = await seedCampaignPages(database(), buyer.id, [{ text: words(2, 40) }]);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/datasets',
      headers: as(),
      payload: { source: { kind: 'campaign', campaignId }, name: 'ok\u0000null' },
    });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.json().message).toContain('body.name');
  });

  // D3
  it('refuses campaign and project names or instructions holding a NUL character with a 400 that names the field', async () => {
    const campaign = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: as(),
      payload: { name: 'a\u0000b', urls: ['https://example.com/'] },
    });
    expect(campaign.statusCode, campaign.body).toBe(400);
    expect(campaign.json().message).toContain('body.name');
    for (const [field, value] of [
      ['name', 'p\u0000'],
      ['instructions', 'Label\u0000 it'],
    ] as const) {
      const project = await app.inject({
        method: 'POST',
        url: '/v1/projects',
        headers: as(),
        payload: {
          name: 'p',
          instructions: 'Label it.',
          labelSchema: { type: 'single_choice', choices: ['a', 'b'] },
          items: [{ id: '1', content: { type: 'text', text: 'x' } }],
          [field]: value,
        },
      });
      expect(project.statusCode, project.body).toBe(400);
      expect(project.json().message).toContain(`body.${field}`);
    }
  });

  it('never writes a Parquet shard larger than shardBytes', async () => {
    const { campaignId } = await seedCampaignPages(
      database(),
      buyer.id,
      Array.from({ length: 200 }, (_, i) => ({ text: words(100 + i, 150) })),
    );
    const dataset = await built({ source: { kind: 'campaign', campaignId } });
    const shards = dataset.files.filter((file) => file.kind === 'parquet');
    expect(shards.length).toBeGreaterThan(1);
    for (const shard of shards) expect(shard.bytes, shard.path).toBeLessThanOrEqual(settings.shardBytes);
  });

  // D4
  it("lists the CDXJ index's rows as its lines, not the WARC's records", async () => {
    for (const pages of [[], [{ text: words(3, 40) }, { text: words(4, 40), html: '<p>x</p>' }]]) {
      const { campaignId } = await seedCampaignPages(database(), buyer.id, pages, { keepRawHtml: true });
      const dataset = await built({ source: { kind: 'campaign', campaignId }, formats: ['parquet', 'warc'] });
      const cdxj = dataset.files.find((file) => file.kind === 'cdxj');
      const served = await app.inject({
        method: 'GET',
        url: `/v1/datasets/${dataset.id}/files/warc/pages.cdxj`,
        headers: as(),
      });
      const lines = served.rawPayload.toString('utf8').split('\n').filter(Boolean).length;
      expect(cdxj?.rows, `${pages.length} pages`).toBe(lines);
    }
  });

  // D5
  it('closes every file it had open when a build is cancelled midway', async () => {
    const { campaignId } = await seedCampaignPages(
      database(),
      buyer.id,
      Array.from({ length: 300 }, (_, i) => ({ text: words(1000 + i, 200) })),
    );
    const created = await app.inject({
      method: 'POST',
      url: '/v1/datasets',
      headers: as(),
      payload: { source: { kind: 'campaign', campaignId }, formats: ['parquet', 'jsonl', 'warc'] },
    });
    const id = created.json().id as string;
    for (;;) {
      const dataset = await read(id);
      if (dataset.progress.phase === 'writing' && dataset.progress.rowsDone > 0) break;
      if (dataset.state !== 'queued' && dataset.state !== 'building') throw new Error(`ended ${dataset.state}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await app.inject({ method: 'POST', url: `/v1/datasets/${id}/cancel`, headers: as() });
    await app.workQueue.drain();
    const open: string[] = [];
    for (const fd of await readdir('/proc/self/fd')) {
      const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
      if (target.includes(id)) open.push(target);
    }
    expect(open).toEqual([]);
  });

  // D6
  it('refuses a row number that is not written in decimal digits', async () => {
    const { campaignId } = await seedCampaignPages(
      database(),
      buyer.id,
      Array.from({ length: 12 }, (_, i) => ({ text: words(50 + i, 40) })),
    );
    const dataset = await built({ source: { kind: 'campaign', campaignId } });
    for (const n of ['%20', '0x1', '+1', '1e1', '1.0']) {
      const response = await app.inject({
        method: 'GET',
        url: `/v1/datasets/${dataset.id}/rows/${n}/proof`,
        headers: as(),
      });
      expect(response.statusCode, n).toBe(400);
    }
  });
});
