import { createHash } from 'node:crypto';
import { normalizeText } from '@protocol/results';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ScrapingSettings } from '../scraping-settings';
import { buildTestApp, testScrapingSettings } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { createBuyerKey, lease, points, registerDevice, upload } from '../test/scrape-fixtures';
import { defaultAuditSettings } from './audit-rules';
import { startDynamicSites } from './simulated-network';
import { runVerificationRound, serverPageText } from './worker';

const madeUp = 'A made-up article that two devices of one person agree on, word for word, to pass each other’s audits.';

describeEachDatabase('two devices that agree on made-up text', (database) => {
  let sites: Awaited<ReturnType<typeof startDynamicSites>>;
  let app: FastifyInstance;
  let settings: ScrapingSettings;
  let apiKey: string;

  beforeAll(async () => {
    sites = await startDynamicSites(1);
    settings = {
      ...testScrapingSettings,
      testOrigins: sites.origins,
      // Every page draws an audit, and every audit two devices agree on is judged by the server too.
      audits: { ...defaultAuditSettings, rate: 1, newDeviceRate: 1, spotCheckRate: 1, serverAfterSeconds: 3600 },
    };
    app = await buildTestApp(database(), settings);
    apiKey = await createBuyerKey(app);
  });
  afterAll(async () => {
    await app.close();
    await sites.close();
  });

  it('fails both when the server, judging an audit they agreed on, finds the page says something else', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: { name: 'collusion', urls: [`${sites.origins[0]}/story/7`] },
    });
    expect(response.statusCode, response.body).toBe(201);
    await database().query(`update hosts set robots_status = 'allow_all', robots_fetched_at = now()`);
    const [first, second] = [await registerDevice(app), await registerDevice(app)];
    // Both have earned the standing that lets a device audit others.
    await database().query('update devices set trust = 0.6 where address = any($1)', [[first.address, second.address]]);
    const fake = (job: { assignmentId: string; jobId: string; url: string }) => ({
      outcome: 'fetched' as const,
      assignmentId: job.assignmentId,
      jobId: job.jobId,
      url: job.url,
      finalUrl: job.url,
      fetchedAt: new Date().toISOString(),
      bytesFetched: 1000,
      httpStatus: 200,
      contentType: 'text/html',
      title: 'Made up',
      text: madeUp,
      lang: 'en',
      canonicalUrl: null,
      links: [],
      textSha256: createHash('sha256').update(normalizeText(madeUp), 'utf8').digest('hex'),
    });
    const [job] = (await lease(app, first, 1)).jobs;
    if (!job) throw new Error('no job');
    expect((await upload(app, first, [fake(job)])).acks[0]?.status).toBe('accepted');
    await database().query('update hosts set next_fetch_at = now()');
    const [audit] = (await lease(app, second, 1)).jobs;
    expect(audit?.url, 'the second device is given the audit of the first one’s page').toBe(job.url);
    if (!audit) return;
    expect((await upload(app, second, [fake(audit)])).acks[0]?.status).toBe('accepted');

    const before = await database().query<{ state: string }>('select state from audits where device = $1', [
      first.address,
    ]);
    expect(before.map((row) => row.state)).toEqual(['disputed']);
    await runVerificationRound(database(), settings, serverPageText(settings));

    for (const device of [first, second]) {
      const earned = await points(app, device);
      expect(earned.verified).toBe(0);
      expect(earned.pending).toBe(0);
      expect(earned.trust).toBe(0);
      expect(earned.recentRejections[0]?.reason).toMatch(/audit of your work failed/);
    }
  });
});
