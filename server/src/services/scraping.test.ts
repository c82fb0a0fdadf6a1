import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem/accounts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../db/database';
import type { ScrapingSettings } from '../scraping-settings';
import { buildTestApp, signedInject, testOperatorToken, testScrapingSettings, testSigningServer } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import {
  createBuyerKey,
  lease,
  pageFor,
  points,
  registerDevice,
  sha256OfText,
  startRobotsSite,
  upload,
} from '../test/scrape-fixtures';
import { processPendingRobots } from './robots-service';

type Site = Awaited<ReturnType<typeof startRobotsSite>>;

describeEachDatabase('scraping: campaigns, leases, ingest and points', (database) => {
  let sites: Site[] = [];
  let settings: ScrapingSettings;
  let app: FastifyInstance;
  let apiKey: string;

  const buildApp = async (overrides: Partial<ScrapingSettings> = {}) => {
    settings = { ...testScrapingSettings, testOrigins: sites.map((site) => site.origin), ...overrides };
    return buildTestApp(database(), settings);
  };
  const createCampaign = async (body: Record<string, unknown>) => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: { name: 'test campaign', ...body },
    });
    expect(response.statusCode, response.body).toBe(201);
    await processPendingRobots(database(), settings);
    return response.json() as {
      campaign: { id: string };
      accepted: number;
      duplicates: number;
      rejected: Array<{ url: string; rule: string; reason: string }>;
    };
  };
  const progress = async (id: string) =>
    (
      await app.inject({ method: 'GET', url: `/v1/campaigns/${id}`, headers: { authorization: `Bearer ${apiKey}` } })
    ).json();
  /** Empties the frontier of everything but this test's campaign, so tests do not lease each other's jobs. */
  const retireOtherJobs = (db: Database) =>
    db.query(
      `update jobs set open_slots = 0, state = 'failed', failure_reason = 'retired by test' where state = 'queued'`,
    );

  beforeAll(async () => {
    sites = await Promise.all([
      startRobotsSite('User-agent: *\nDisallow: /private/\n'),
      startRobotsSite('User-agent: *\nAllow: /\n'),
      startRobotsSite('User-agent: *\nAllow: /\n'),
      startRobotsSite('User-agent: *\nAllow: /\n'),
    ]);
    app = await buildApp();
    apiKey = await createBuyerKey(app);
  });
  afterAll(async () => {
    await app.close();
    await Promise.all(sites.map((site) => site.close()));
  });

  it('refuses unsafe URLs one by one with the rule they break, and keeps the rest', async () => {
    const [site] = sites as [Site];
    const created = await createCampaign({
      urls: [
        `${site.origin}/a`,
        `${site.origin}/a#again`,
        'http://169.254.169.254/latest/meta-data/',
        'http://printer.local/',
        'ftp://example.com/x',
        `${site.origin}/private/secret`,
      ],
    });
    expect(created.accepted).toBe(2);
    expect(created.duplicates).toBe(1);
    expect(created.rejected.map((entry) => entry.rule)).toEqual([
      'ip_not_public',
      'host_local_name',
      'scheme_not_http',
    ]);
    const after = await progress(created.campaign.id);
    expect(after.counts).toMatchObject({ queued: 1, failed: 1 });
    expect(after.failures[0].reason).toMatch(/robots_disallowed/);
    expect(site.hits).toContain('/robots.txt');
  });

  it('never leases a path robots.txt disallows, even when it is added later by link following', async () => {
    await retireOtherJobs(database());
    const [site] = sites as [Site];
    const created = await createCampaign({
      seeds: [`${site.origin}/start`],
      followLinks: { maxDepth: 2, maxPages: 10 },
    });
    const device = await registerDevice(app);
    const first = await lease(app, device);
    expect(first.jobs.map((job) => job.url)).toEqual([`${site.origin}/start`]);
    const job = first.jobs[0];
    if (!job) throw new Error('no job');
    expect(job.collectLinks).toBe(true);
    await upload(app, device, [
      pageFor(job, 'start page', [`${site.origin}/next`, `${site.origin}/private/x`, 'https://other.example/offsite']),
    ]);
    const next = await lease(app, device);
    expect(next.jobs.map((leased) => leased.url)).toEqual([`${site.origin}/next`]);
    const state = await progress(created.campaign.id);
    expect(state.counts.fetched).toBe(1);
    expect(state.counts.failed).toBe(1);
    expect(state.failures[0].reason).toMatch(/^robots_disallowed/);
  });

  it('keeps an honest page whose link grows past the URL limit once percent-encoded, following its other links', async () => {
    await retireOtherJobs(database());
    const [site] = sites as [Site];
    await createCampaign({ seeds: [`${site.origin}/cjk-start`], followLinks: { maxDepth: 2, maxPages: 10 } });
    const device = await registerDevice(app);
    const [job] = (await lease(app, device)).jobs;
    if (!job) throw new Error('no job');
    const answer = await upload(app, device, [
      pageFor(job, 'a page in Chinese', [`${site.origin}/${'漢'.repeat(600)}`, `${site.origin}/cjk-next`]),
    ]);
    expect(answer.acks.map((ack) => ack.status)).toEqual(['accepted']);
    const next = await lease(app, device);
    expect(next.jobs.map((leased) => leased.url)).toEqual([`${site.origin}/cjk-next`]);
  });

  it('never gives one job to two concurrent leasers', async () => {
    await retireOtherJobs(database());
    const urls = sites.slice(1).flatMap((site) => Array.from({ length: 10 }, (_, i) => `${site.origin}/page-${i}`));
    await createCampaign({ urls });
    const devices = await Promise.all([registerDevice(app), registerDevice(app), registerDevice(app)]);
    const seen: string[] = [];
    for (let round = 0; round < 20; round += 1) {
      const answers = await Promise.all(devices.map((device) => lease(app, device, 3)));
      const jobs = answers.flatMap((answer) => answer.jobs);
      if (jobs.length === 0) break;
      seen.push(...jobs.map((job) => job.url));
    }
    expect(seen.length).toBe(30);
    expect(new Set(seen).size).toBe(30);
  });

  it('hands an expired lease to the next device', async () => {
    await retireOtherJobs(database());
    const site = sites[1] as Site;
    await createCampaign({ urls: [`${site.origin}/expiring`] });
    const first = await registerDevice(app);
    const second = await registerDevice(app);
    const leased = await lease(app, first);
    expect(leased.jobs).toHaveLength(1);
    expect((await lease(app, second)).jobs).toHaveLength(0);
    await database().query(`update assignments set expires_at = now() - interval '1 second' where id = $1`, [
      leased.jobs[0]?.assignmentId,
    ]);
    const again = await lease(app, second);
    expect(again.jobs.map((job) => job.url)).toEqual([`${site.origin}/expiring`]);
  });

  it('keeps the politeness delay of an origin across devices', async () => {
    await retireOtherJobs(database());
    await app.close();
    app = await buildApp({ politenessMs: 3000 });
    const site = sites[2] as Site;
    await database().query(
      'delete from hosts where origin = $1 and not exists (select 1 from jobs where origin = $1)',
      [site.origin],
    );
    await database().query('update hosts set crawl_delay_ms = 3000 where origin = $1', [site.origin]);
    await createCampaign({ urls: [`${site.origin}/polite-1`, `${site.origin}/polite-2`] });
    const first = await registerDevice(app);
    const second = await registerDevice(app);
    expect((await lease(app, first)).jobs).toHaveLength(1);
    const blocked = await lease(app, second);
    expect(blocked.jobs).toHaveLength(0);
    expect(blocked.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    await database().query(`update hosts set next_fetch_at = now() where origin = $1`, [site.origin]);
    expect((await lease(app, second)).jobs).toHaveLength(1);
    await app.close();
    app = await buildApp();
  });

  it('backs an origin off after a 429 with Retry-After, for every device', async () => {
    await retireOtherJobs(database());
    const site = sites[3] as Site;
    await createCampaign({ urls: [`${site.origin}/busy-1`, `${site.origin}/busy-2`] });
    const device = await registerDevice(app);
    const [job] = (await lease(app, device)).jobs;
    if (!job) throw new Error('no job');
    const answer = await upload(app, device, [
      {
        outcome: 'failed',
        assignmentId: job.assignmentId,
        jobId: job.jobId,
        url: job.url,
        fetchedAt: new Date().toISOString(),
        bytesFetched: 120,
        error: 'http_error',
        detail: 'HTTP 429',
        httpStatus: 429,
        retryAfterSeconds: 120,
      },
    ]);
    expect(answer.acks[0]?.status).toBe('accepted');
    const other = await registerDevice(app);
    const next = await lease(app, other);
    expect(next.jobs).toHaveLength(0);
    expect(next.retryAfterSeconds).toBeGreaterThan(30);
    await database().query(`update hosts set next_fetch_at = now() where origin = $1`, [site.origin]);
  });

  it('keeps the good records of a batch and says why each bad one was refused', async () => {
    await retireOtherJobs(database());
    const site = sites[1] as Site;
    await createCampaign({ urls: [`${site.origin}/good`] });
    await createCampaign({ urls: [`${site.origin}/tampered`] });
    const device = await registerDevice(app);
    const jobs = [...(await lease(app, device)).jobs];
    jobs.push(...(await lease(app, device)).jobs);
    const [good, tampered] = jobs;
    if (!good || !tampered) throw new Error('expected two jobs');
    const answer = await upload(app, device, [
      pageFor(good, 'A good page with real text.'),
      { ...pageFor(tampered, 'original text'), text: 'changed after hashing' },
      { outcome: 'fetched', assignmentId: '999999', jobId: '1' },
      { ...pageFor(good, 'x'), assignmentId: '424242' },
    ]);
    expect(answer.acks.map((ack) => ack.status)).toEqual(['accepted', 'rejected', 'rejected', 'rejected']);
    expect(answer.acks[1]?.reason).toMatch(/textSha256/);
    expect(answer.acks[2]?.reason).toMatch(/url|fetchedAt|finalUrl/);
    expect(answer.acks[3]?.reason).toMatch(/not a lease of this device/);
    const stored = await database().query<{ text: string }>('select text from pages where device = $1', [
      device.address,
    ]);
    expect(stored.map((row) => row.text)).toEqual(['A good page with real text.']);
  });

  it('credits nothing for a replayed batch or a second upload of the same page', async () => {
    await retireOtherJobs(database());
    const site = sites[1] as Site;
    await createCampaign({ urls: [`${site.origin}/once`] });
    const device = await registerDevice(app);
    const [job] = (await lease(app, device)).jobs;
    if (!job) throw new Error('no job');
    const batchId = crypto.randomUUID();
    const first = await upload(app, device, [pageFor(job, 'only once')], batchId);
    const before = await points(app, device);
    const replay = await upload(app, device, [pageFor(job, 'only once')], batchId);
    const again = await upload(app, device, [pageFor(job, 'only once')]);
    expect(first.acks[0]?.status).toBe('accepted');
    expect(replay.acks).toEqual(first.acks);
    expect(again.acks[0]?.status).toBe('duplicate');
    expect(await points(app, device)).toEqual(before);
    const rows = await database().query<{ count: number }>(
      'select count(*)::int as count from pages where job_id = (select job_id from assignments where id = $1)',
      [job.assignmentId],
    );
    expect(rows[0]?.count).toBe(1);
    const ledger = await database().query<{ count: number }>(
      'select count(*)::int as count from points_ledger where device = $1',
      [device.address],
    );
    expect(ledger[0]?.count).toBe(1);
  });

  it('leases canaries a device cannot tell from other jobs, and a failed one rejects a fabricator’s pending work', async () => {
    await retireOtherJobs(database());
    await app.close();
    app = await buildApp({ canaryRate: 1 });
    const site = sites[3] as Site;
    const canaryText = 'The known content of the canary page.';
    const canaries = await app.inject({
      method: 'POST',
      url: '/v1/admin/canaries',
      headers: { authorization: `Bearer ${testOperatorToken}` },
      payload: { pages: [{ url: `${site.origin}/canary`, textSha256: sha256OfText(canaryText) }] },
    });
    expect(canaries.statusCode, canaries.body).toBe(201);
    const others = sites.slice(0, 3);
    await createCampaign({ urls: others.map((other) => `${other.origin}/ordinary`), keepRawHtml: true });
    const honest = await registerDevice(app);
    const cheat = await registerDevice(app);
    const truth = (url: string) => (url.endsWith('/canary') ? canaryText : `Real text of ${url}`);

    for (const [device, fabricate] of [
      [honest, false],
      [cheat, true],
    ] as Array<[LocalAccount, boolean]>) {
      await database().query(`update hosts set next_fetch_at = now()`);
      const { jobs } = await lease(app, device, 3);
      const canary = jobs.find((job) => job.url.endsWith('/canary'));
      const ordinary = jobs.filter((job) => job !== canary);
      expect(canary, 'a canary comes with the lease').toBeDefined();
      if (!canary) return;
      // Same options as the jobs beside it, and a fresh id like theirs.
      for (const job of ordinary) {
        expect([canary.keepRawHtml, canary.collectLinks]).toEqual([job.keepRawHtml, job.collectLinks]);
        expect(Number(canary.jobId)).toBeGreaterThan(Number(job.jobId));
      }
      await upload(
        app,
        device,
        jobs.map((job) => pageFor(job, fabricate ? `Made-up text ${Math.random()}` : truth(job.url))),
      );
    }

    const honestPoints = await points(app, honest);
    const cheatPoints = await points(app, cheat);
    // A passed canary is a passed check; its page waits in the pool like any other.
    expect(honestPoints.pending).toBe(300);
    expect(honestPoints.rejected).toBe(0);
    expect(cheatPoints.verified).toBe(0);
    expect(cheatPoints.pending).toBe(0);
    expect(cheatPoints.trust).toBeLessThan(honestPoints.trust);
    expect(cheatPoints.recentRejections.map((rejection) => rejection.reason).join(' ')).toMatch(/a check of .* failed/);
    await app.close();
    app = await buildApp();
  });

  it('lists a campaign’s stored pages with provenance to its buyer only, a page of rows at a time', async () => {
    await retireOtherJobs(database());
    const site = sites[1] as Site;
    const created = await createCampaign({ urls: [`${site.origin}/listed-1`, `${site.origin}/listed-2`] });
    const device = await registerDevice(app);
    for (let round = 0; round < 2; round += 1) {
      const { jobs } = await lease(app, device);
      await upload(
        app,
        device,
        jobs.map((job) => pageFor(job, `Text of ${job.url}`)),
      );
    }
    const url = `/v1/campaigns/${created.campaign.id}/pages?limit=1`;
    const first = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${apiKey}` } });
    expect(first.json().pages).toHaveLength(1);
    expect(first.json().pages[0]).toMatchObject({ url: `${site.origin}/listed-1` });
    const rest = await app.inject({
      method: 'GET',
      url: `${url}&after=${first.json().next}`,
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(rest.json().pages.map((page: { text: string }) => page.text)).toEqual([`Text of ${site.origin}/listed-2`]);
    // The contributor is a pseudonym of this campaign: the same for both pages, never the device address,
    // and another in a second campaign the same device fetched for, so a buyer cannot join them on a person.
    const pseudonym = first.json().pages[0].device as string;
    expect(pseudonym).toMatch(/^[0-9a-f]{32}$/);
    expect(pseudonym).not.toContain(device.address.slice(2).toLowerCase());
    expect(rest.json().pages[0].device).toBe(pseudonym);
    const second = await createCampaign({ urls: [`${site.origin}/listed-3`] });
    const { jobs } = await lease(app, device);
    await upload(
      app,
      device,
      jobs.map((job) => pageFor(job, `Text of ${job.url}`)),
    );
    const elsewhere = await app.inject({
      method: 'GET',
      url: `/v1/campaigns/${second.campaign.id}/pages`,
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(elsewhere.json().pages).toHaveLength(1);
    expect(elsewhere.json().pages[0].device).toMatch(/^[0-9a-f]{32}$/);
    expect(elsewhere.json().pages[0].device).not.toBe(pseudonym);
    const otherKey = await createBuyerKey(app, 'Someone Else');
    const other = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${otherKey}` } });
    expect(other.statusCode).toBe(404);
  });

  it('requires a buyer key for campaigns and a device signature for leases', async () => {
    const noKey = await app.inject({ method: 'POST', url: '/v1/campaigns', payload: { name: 'x', urls: [] } });
    expect(noKey.statusCode).toBe(401);
    const unsigned = await app.inject({ method: 'POST', url: '/v1/jobs/lease', payload: { max: 1 } });
    expect(unsigned.statusCode).toBe(401);
    const empty = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: { name: 'empty' },
    });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().message).toMatch(/at least one URL/);
  });

  it('accepts a gzip-compressed signed batch', async () => {
    const device = await registerDevice(app);
    const { gzipSync } = await import('node:zlib');
    const body = gzipSync(JSON.stringify({ batchId: crypto.randomUUID(), results: [{ outcome: 'nonsense' }] }));
    const { signRequest } = await import('@protocol/signing');
    const headers = await signRequest(device, { method: 'POST', path: '/v1/results', body }, testSigningServer);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/results',
      headers: { ...headers, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      payload: body,
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().acks[0].status).toBe('rejected');
    void signedInject;
  });
});
