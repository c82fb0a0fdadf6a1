import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LeasedJob } from '@protocol/jobs';
import { type FetchedPage, normalizeText } from '@protocol/results';
import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem/accounts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { article } from '../../../bench/synthetic-site';
import { seededRandom } from '../aggregation/synthetic-crowd';
import type { ScrapingSettings } from '../scraping-settings';
import { buildTestApp, testScrapingSettings } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { createBuyerKey, lease, points, registerDevice, upload } from '../test/scrape-fixtures';
import { defaultAuditSettings } from './audit-rules';
import { fetchPageOnServer } from './server-fetch';
import { runVerificationRound, serverPageText } from './worker';

/**
 * A small network on the real database: honest devices and fabricators lease real jobs on a local
 * site whose pages change between fetches (time, view counts, related links), upload signed batches,
 * audit each other, and the server settles what no device took. Draws are seeded, so runs repeat.
 */

/** Sites whose every page is an article with a dateline, a view counter and related links that change per fetch. */
async function startDynamicSites(count: number): Promise<{ origins: string[]; close: () => Promise<void> }> {
  const servers: Server[] = [];
  for (let s = 0; s < count; s += 1) {
    let views = 1000;
    const server = createServer((request, response) => {
      const match = /^\/story\/(\d+)$/.exec(request.url ?? '');
      if (!match) return response.writeHead(404).end();
      const content = article(Number(match[1]));
      views += 1 + Math.floor(Math.random() * 50);
      const related = Array.from({ length: 3 }, () => `<li>${article(Math.floor(Math.random() * 1e6)).title}</li>`);
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(`<!doctype html><html lang="en"><head><title>${content.title}</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<main><article><h1>${content.title}</h1>
<p class="meta">Updated ${new Date().toUTCString()} · ${views.toLocaleString('en-US')} views</p>
${content.sections.map((section) => `<h2>${section.heading}</h2>${section.paragraphs.map((p) => `<p>${p}</p>`).join('')}`).join('\n')}
</article></main><aside><h3>Related</h3><ul>${related.join('')}</ul></aside><footer>© 2026 Example News</footer></body></html>`);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
  }
  return {
    origins: servers.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    close: async () => {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

const sha256 = (text: string) => createHash('sha256').update(normalizeText(text), 'utf8').digest('hex');

interface SimDevice {
  account: LocalAccount;
  /** Share of pages it makes up instead of fetching. */
  fabricates: number;
}

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

  /** What a device uploads for a job: the page as fetched and extracted (as the extension does), or a made-up article. */
  async function resultFor(job: LeasedJob, fabricate: boolean, random: () => number): Promise<FetchedPage> {
    const base = {
      outcome: 'fetched' as const,
      assignmentId: job.assignmentId,
      jobId: job.jobId,
      url: job.url,
      finalUrl: job.url,
      fetchedAt: new Date().toISOString(),
      bytesFetched: 9000,
      httpStatus: 200,
      contentType: 'text/html; charset=utf-8',
      lang: 'en',
      canonicalUrl: null,
      links: [],
    };
    if (fabricate) {
      const made = article(1_000_000 + Math.floor(random() * 1e6));
      return { ...base, title: made.title, text: made.text, textSha256: sha256(made.text) };
    }
    const fetched = await fetchPageOnServer(job.url, {
      maxBytes: settings.maxPageBytes,
      timeoutMs: 10_000,
      allowedTestOrigins: settings.testOrigins,
    });
    if (!fetched.ok) throw new Error(`the honest fetch failed: ${fetched.detail}`);
    return { ...base, title: fetched.title, text: fetched.text, textSha256: fetched.textSha256 };
  }

  /** Every device leases and uploads until no one gets a job for a round. */
  async function work(devices: readonly SimDevice[], random: () => number) {
    for (let round = 0, idle = 0; round < 200 && idle < 2; round += 1) {
      let leased = 0;
      for (const device of devices) {
        await database().query('update hosts set next_fetch_at = now()');
        const { jobs } = await lease(app, device.account, 5);
        leased += jobs.length;
        if (jobs.length === 0) continue;
        const results = [];
        for (const job of jobs) results.push(await resultFor(job, random() < device.fabricates, random));
        await upload(app, device.account, results);
      }
      idle = leased === 0 ? idle + 1 : 0;
    }
  }

  /** Pools that stopped growing draw their missing audits; devices take them; the server settles the rest. */
  async function settle(devices: readonly SimDevice[], random: () => number) {
    const drawNow = { ...settings, audits: { ...settings.audits, settleAfterSeconds: 0 } };
    for (let round = 0; round < 6; round += 1) {
      await runVerificationRound(database(), drawNow, serverPageText(settings));
      await work(devices, random);
    }
    const serverNow = { ...settings, audits: { ...settings.audits, settleAfterSeconds: 0, serverAfterSeconds: 0 } };
    for (let round = 0; round < 100; round += 1) {
      const { drawn, settled } = await runVerificationRound(database(), serverNow, serverPageText(settings));
      if (drawn === 0 && settled === 0) break;
    }
  }

  it('verifies honest devices on changing pages and gives fabricators nothing, whatever share they make up', async () => {
    await campaign(240, 0);
    const random = seededRandom(5);
    const honest: SimDevice[] = [];
    for (let i = 0; i < 4; i += 1) honest.push({ account: await registerDevice(app), fabricates: 0 });
    const fabricators: SimDevice[] = [];
    for (const share of [1, 0.5, 0.2]) fabricators.push({ account: await registerDevice(app), fabricates: share });
    const everyone = [...honest, ...fabricators];
    await work(everyone, random);
    await settle(everyone, random);

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
    const random = seededRandom(9);
    const lone: SimDevice = { account: await registerDevice(app), fabricates: 0 };
    await work([lone], random);
    const before = await points(app, lone.account);
    expect(before.pending).toBeGreaterThan(0);
    expect(before.pendingExplained?.message).toMatch(/wait for audits/);
    await settle([lone], random);
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
