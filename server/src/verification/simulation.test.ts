import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seededRandom } from '../aggregation/synthetic-crowd';
import type { ScrapingSettings } from '../scraping-settings';
import { buildTestApp, testScrapingSettings } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { createBuyerKey, points, registerDevice } from '../test/scrape-fixtures';
import { defaultAuditSettings } from './audit-rules';
import { type SimDevice, simulatedNetwork, startDynamicSites } from './simulated-network';

/**
 * A small network on the real database: honest devices and fabricators lease real jobs on a local
 * site whose pages change between fetches, upload signed batches, audit each other, and the server
 * settles what no device took. Draws are seeded, so runs repeat.
 */

describeEachDatabase('verification of a simulated network', (database) => {
  let sites: Awaited<ReturnType<typeof startDynamicSites>>;
  let app: FastifyInstance;
  let settings: ScrapingSettings;
  let apiKey: string;

  beforeAll(async () => {
    sites = await startDynamicSites(4);
    settings = {
      ...testScrapingSettings,
      testOrigins: sites.origins,
      // Audits wait for devices during the run; the test settles the rest by hand at the end.
      audits: { ...defaultAuditSettings, serverAfterSeconds: 3600, settleAfterSeconds: 3600, random: seededRandom(11) },
    };
    app = await buildTestApp(database(), settings);
    apiKey = await createBuyerKey(app);
  });
  afterAll(async () => {
    await app.close();
    await sites.close();
  });

  async function campaign(pages: number, firstSeed: number) {
    const urls = Array.from(
      { length: pages },
      (_, i) => `${sites.origins[i % sites.origins.length]}/story/${firstSeed + i}`,
    );
    const response = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: { name: `sim ${firstSeed}`, urls },
    });
    expect(response.statusCode, response.body).toBe(201);
    await database().query(`update hosts set robots_status = 'allow_all', robots_fetched_at = now()`);
  }

  it('verifies honest devices on changing pages and gives fabricators nothing, whatever share they make up', async () => {
    await campaign(240, 0);
    const network = simulatedNetwork(app, database(), settings, seededRandom(5));
    const honest: SimDevice[] = [];
    for (let i = 0; i < 4; i += 1) honest.push({ account: await registerDevice(app), fabricates: 0 });
    const fabricators: SimDevice[] = [];
    for (const share of [1, 0.5, 0.2]) fabricators.push({ account: await registerDevice(app), fabricates: share });
    const everyone = [...honest, ...fabricators];
    await network.work(everyone);
    await network.settle(everyone);

    for (const device of honest) {
      const earned = await points(app, device.account);
      const total = earned.verified + earned.pending + earned.rejected;
      expect(total, 'every honest device did some work').toBeGreaterThan(0);
      expect(earned.verified / total).toBeGreaterThanOrEqual(0.99);
    }
    for (const device of fabricators) {
      const earned = await points(app, device.account);
      expect(earned.verified, `a device making up ${device.fabricates * 100}% of its pages`).toBe(0);
      expect(earned.recentRejections.map((rejection) => rejection.reason).join(' ')).toMatch(/audit/);
    }
  });

  it('verifies a lone honest device through the server’s own fetches', async () => {
    await database().query(`update jobs set open_slots = 0, state = 'failed' where state = 'queued'`);
    await campaign(40, 5000);
    const network = simulatedNetwork(app, database(), settings, seededRandom(9));
    const lone: SimDevice = { account: await registerDevice(app), fabricates: 0 };
    await network.work([lone]);
    const before = await points(app, lone.account);
    expect(before.pending).toBeGreaterThan(0);
    expect(before.pendingExplained?.message).toMatch(/wait for audits/);
    await network.settle([lone]);
    const after = await points(app, lone.account);
    expect(after.pending).toBe(0);
    expect(after.rejected).toBe(0);
    expect(after.verified).toBe(before.pending + before.verified);
    const serverChecks = await database().query<{ n: number }>(
      `select count(*)::int as n from audits where device = $1 and checked_by = 'server' and state = 'passed'`,
      [lone.account.address],
    );
    expect(serverChecks[0]?.n).toBeGreaterThan(0);
  });
});
