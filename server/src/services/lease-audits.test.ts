import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ScrapingSettings } from '../scraping-settings';
import { buildTestApp, testScrapingSettings } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { createBuyerKey, lease, pageFor, registerDevice, upload } from '../test/scrape-fixtures';
import { defaultAuditSettings } from '../verification/audit-rules';
import { startDynamicSites } from '../verification/simulated-network';

/**
 * Who is given an audit: the lease reads an origin's jobs audits first, but starts an untrusted device's
 * probe past them (an index range, not a filter), so this checks the rule the range encodes both ways.
 */
describeEachDatabase('leasing audits', (database) => {
  let sites: Awaited<ReturnType<typeof startDynamicSites>>;
  let app: FastifyInstance;
  let settings: ScrapingSettings;

  beforeAll(async () => {
    sites = await startDynamicSites(1);
    settings = {
      ...testScrapingSettings,
      testOrigins: sites.origins,
      // Every page draws an audit; the server never takes one over.
      audits: { ...defaultAuditSettings, rate: 1, newDeviceRate: 1, spotCheckRate: 0, serverAfterSeconds: 3600 },
    };
    app = await buildTestApp(database(), settings);
  });
  afterAll(async () => {
    await app.close();
    await sites.close();
  });

  it('gives an untrusted device the origin’s ordinary jobs and never its audits, and a trusted one the audit first', async () => {
    const apiKey = await createBuyerKey(app);
    const origin = sites.origins[0] as string;
    const urls = [1, 2, 3].map((n) => `${origin}/story/${n}`);
    const created = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: { name: 'audits', urls },
    });
    expect(created.statusCode, created.body).toBe(201);
    await database().query(`update hosts set robots_status = 'allow_all', robots_fetched_at = now()`);
    const [fetcher, newcomer, trusted] = [
      await registerDevice(app),
      await registerDevice(app),
      await registerDevice(app),
    ];
    await database().query('update devices set trust = 0.6 where address = $1', [trusted.address]);

    const [first] = (await lease(app, fetcher, 1)).jobs;
    if (!first) throw new Error('no job leased');
    expect(
      (await upload(app, fetcher, [pageFor(first, `The page at ${first.url}, as fetched.`)])).acks[0]?.status,
    ).toBe('accepted');
    const audits = await database().query<{ url: string }>(
      'select url from jobs where audit_of_page is not null and open_slots > 0',
    );
    expect(audits.map((row) => row.url)).toEqual([first.url]);

    await database().query('update hosts set next_fetch_at = now()');
    const untrustedLease = (await lease(app, newcomer, 1)).jobs;
    expect(untrustedLease).toHaveLength(1);
    expect(untrustedLease[0]?.url, 'an ordinary job, not the audit of the page already fetched').not.toBe(first.url);

    await database().query('update hosts set next_fetch_at = now()');
    const [audit] = (await lease(app, trusted, 1)).jobs;
    expect(audit?.url, 'the audit comes first for a device trusted to check others').toBe(first.url);
  });
});
