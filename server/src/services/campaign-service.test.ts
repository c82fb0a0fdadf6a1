import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { healthDuring } from '../test/health-during';
import { createBuyerKey } from '../test/scrape-fixtures';

describeEachDatabase('campaign URLs: a cap per request, more in further requests', (database) => {
  let app: FastifyInstance;
  let apiKey: string;
  const asBuyer = (key = apiKey) => ({ authorization: `Bearer ${key}` });
  const urlsOf = (count: number, prefix: string) =>
    Array.from({ length: count }, (_, i) => `https://site-${i % 40}.example.com/${prefix}/${i}`);

  beforeAll(async () => {
    app = await buildTestApp(database());
    apiKey = await createBuyerKey(app);
  });
  afterAll(async () => {
    await app.close();
  });

  it('refuses a campaign of more than 10,000 URLs with a 400 naming the cap and the way to add more', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: asBuyer(),
      payload: { name: 'too big', urls: urlsOf(10_001, 'big') },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/at most 10,000 URLs per request.*POST \/v1\/campaigns\/\{id\}\/urls/);
  });

  it('takes 10,000 URLs in chunks, answering other requests meanwhile', async () => {
    let created: { accepted: number } | undefined;
    const timing = await healthDuring(app, async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/campaigns',
        headers: asBuyer(),
        payload: { name: 'ten thousand', urls: urlsOf(10_000, 'chunked') },
      });
      expect(response.statusCode, response.body).toBe(201);
      created = response.json();
    });
    expect(created?.accepted).toBe(10_000);
    // One transaction for the whole request would hold the embedded database (and so /health) for most of it.
    expect(timing.slowestHealthMs).toBeLessThan(timing.sendMs / 2);
  });

  it('adds URLs to an existing campaign with a verdict for each, for its buyer only', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: asBuyer(),
      payload: { name: 'grows', urls: ['https://grows.example.com/a'] },
    });
    const id = created.json().campaign.id as string;
    const added = await app.inject({
      method: 'POST',
      url: `/v1/campaigns/${id}/urls`,
      headers: asBuyer(),
      payload: {
        urls: [
          'https://grows.example.com/a',
          'https://grows.example.com/b',
          'https://grows.example.com/b#again',
          'http://169.254.169.254/latest/meta-data/',
        ],
      },
    });
    expect(added.statusCode, added.body).toBe(200);
    expect(added.json()).toEqual({
      accepted: 1,
      duplicates: 2,
      rejected: [
        { url: 'http://169.254.169.254/latest/meta-data/', rule: 'ip_not_public', reason: expect.any(String) },
      ],
    });
    const progress = await app.inject({ method: 'GET', url: `/v1/campaigns/${id}`, headers: asBuyer() });
    expect(progress.json().counts.queued).toBe(2);

    const tooMany = await app.inject({
      method: 'POST',
      url: `/v1/campaigns/${id}/urls`,
      headers: asBuyer(),
      payload: { urls: urlsOf(10_001, 'more') },
    });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().message).toMatch(/at most 10,000 URLs per request/);

    const stranger = await createBuyerKey(app, 'Someone Else');
    const theirs = await app.inject({
      method: 'POST',
      url: `/v1/campaigns/${id}/urls`,
      headers: asBuyer(stranger),
      payload: { urls: ['https://grows.example.com/c'] },
    });
    expect(theirs.statusCode).toBe(404);
  });

  it('keeps added URLs within the campaign’s page cap, naming each one left out', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: asBuyer(),
      payload: { name: 'capped', seeds: ['https://capped.example.com/'], followLinks: { maxDepth: 1, maxPages: 2 } },
    });
    const id = created.json().campaign.id as string;
    const added = await app.inject({
      method: 'POST',
      url: `/v1/campaigns/${id}/urls`,
      headers: asBuyer(),
      payload: {
        urls: ['https://capped.example.com/1', 'https://capped.example.com/2', 'https://capped.example.com/3'],
      },
    });
    expect(added.json().accepted).toBe(1);
    expect(added.json().rejected.map((entry: { rule: string }) => entry.rule)).toEqual([
      'campaign_full',
      'campaign_full',
    ]);
  });

  it('names each URL past the page cap when a campaign is created with more, instead of dropping them', async () => {
    const urls = ['a', 'b', 'c'].map((page) => `https://born-full.example.com/${page}`);
    const created = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: asBuyer(),
      payload: { name: 'born full', urls, followLinks: { maxDepth: 1, maxPages: 1 } },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().accepted).toBe(1);
    expect(created.json().rejected).toEqual([
      { url: urls[1], rule: 'campaign_full', reason: 'The campaign already has its maxPages (1) pages.' },
      { url: urls[2], rule: 'campaign_full', reason: 'The campaign already has its maxPages (1) pages.' },
    ]);
  });
});
