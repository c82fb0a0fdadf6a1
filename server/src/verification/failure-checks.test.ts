import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LeasedJob } from '@protocol/jobs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ScrapingSettings } from '../scraping-settings';
import { processPendingRobots } from '../services/robots-service';
import { buildTestApp, testScrapingSettings } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { createBuyerKey, failureFor, lease, registerDevice, upload } from '../test/scrape-fixtures';
import { runVerificationRound } from './worker';

/** A site whose /real pages (any query) are there and whose /gone page is not. */
async function startSite(): Promise<{ origin: string; close: () => Promise<void> }> {
  const server: Server = createServer((request, response) => {
    if (request.url === '/robots.txt') response.writeHead(200, { 'content-type': 'text/plain' }).end('');
    else if (request.url?.startsWith('/real'))
      response.writeHead(200, { 'content-type': 'text/html' }).end('<title>Real</title><p>A real page.</p>');
    else response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describeEachDatabase('a failure only one device reported', (database) => {
  let sites: Array<Awaited<ReturnType<typeof startSite>>> = [];
  let settings: ScrapingSettings;
  let app: FastifyInstance;
  let apiKey: string;

  beforeAll(async () => {
    sites = [await startSite(), await startSite()];
    settings = { ...testScrapingSettings, testOrigins: sites.map((site) => site.origin) };
    app = await buildTestApp(database(), settings);
    apiKey = await createBuyerKey(app);
  });
  afterAll(async () => {
    await app.close();
    await Promise.all(sites.map((site) => site.close()));
  });

  const notFound = (job: LeasedJob) =>
    failureFor(job, { error: 'http_error', detail: 'HTTP 404', httpStatus: 404, retryAfterSeconds: null });
  const jobState = async (url: string) =>
    (
      await database().query<{ state: string; failure_check: string | null; open_slots: number }>(
        'select state, failure_check, open_slots from jobs where url = $1',
        [url],
      )
    )[0];

  it('is checked by the server’s own fetch: a made-up 404 opens the job again, a true one stands', async () => {
    await database().query(`update jobs set open_slots = 0, state = 'failed' where state in ('queued', 'fetched')`);
    const [withPage, without] = sites as [Awaited<ReturnType<typeof startSite>>, Awaited<ReturnType<typeof startSite>>];
    const real = `${withPage.origin}/real`;
    const gone = `${without.origin}/gone`;
    const created = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: { name: 'reported failures', urls: [real, gone] },
    });
    expect(created.statusCode, created.body).toBe(201);
    await processPendingRobots(database(), settings);

    const liar = await registerDevice(app);
    const jobs = (await lease(app, liar, 2)).jobs;
    expect(jobs.map((job) => job.url).sort()).toEqual([real, gone].sort());
    const answer = await upload(app, liar, jobs.map(notFound));
    expect(answer.acks.map((ack) => ack.status)).toEqual(['accepted', 'accepted']);
    // Failed at once on that one report (a one-device crowd still finishes), with a check due.
    expect(await jobState(real)).toMatchObject({ state: 'failed', failure_check: 'due' });

    const round = await runVerificationRound(database(), settings);
    expect(round).toMatchObject({ failuresConfirmed: 1, failuresRefuted: 1 });
    expect(await jobState(real)).toMatchObject({ state: 'queued', failure_check: 'refuted', open_slots: 1 });
    expect(await jobState(gone)).toMatchObject({ state: 'failed', failure_check: 'confirmed' });
    // Another device gets the page the first one said was not there; a second round changes nothing.
    const second = await registerDevice(app);
    const reopened = (await lease(app, second, 2)).jobs;
    expect(reopened.map((job) => job.url)).toEqual([real]);
    expect(await runVerificationRound(database(), settings)).toMatchObject({
      failuresConfirmed: 0,
      failuresRefuted: 0,
    });
    // A second device saying the same ends the job without another check: two devices agree.
    await upload(app, second, reopened.map(notFound));
    expect(await jobState(real)).toMatchObject({ state: 'failed', failure_check: null });
  });

  it('leaves alone a job whose copies came from another lease meanwhile, or whose campaign was cancelled', async () => {
    await database().query(`update jobs set open_slots = 0, state = 'failed' where state in ('queued', 'fetched')`);
    const [withPage] = sites as [Awaited<ReturnType<typeof startSite>>];
    const campaignOf = async (name: string, url: string) => {
      const created = await app.inject({
        method: 'POST',
        url: '/v1/campaigns',
        headers: { authorization: `Bearer ${apiKey}` },
        payload: { name, urls: [url] },
      });
      expect(created.statusCode, created.body).toBe(201);
      await processPendingRobots(database(), settings);
      return created.json().campaign.id as string;
    };
    const liar = await registerDevice(app);
    const reportGone = async (url: string) => {
      const jobs = (await lease(app, liar, 1)).jobs;
      expect(jobs.map((job) => job.url)).toEqual([url]);
      await upload(app, liar, jobs.map(notFound));
    };
    const copied = `${withPage.origin}/real?copied`;
    await campaignOf('copied meanwhile', copied);
    await reportGone(copied);
    // Its copy arrived meanwhile (from a lease that ran out and went to another device, say).
    await database().query('update jobs set copies_received = copies_wanted where url = $1', [copied]);
    const cancelled = `${withPage.origin}/real?cancelled`;
    const campaignId = await campaignOf('cancelled meanwhile', cancelled);
    await reportGone(cancelled);
    const cancel = await app.inject({
      method: 'POST',
      url: `/v1/campaigns/${campaignId}/cancel`,
      headers: { authorization: `Bearer ${apiKey}` },
    });
    expect(cancel.statusCode, cancel.body).toBe(200);

    expect(await runVerificationRound(database(), settings)).toMatchObject({
      failuresRefuted: 0,
      failuresConfirmed: 0,
    });
    expect(await jobState(copied)).toMatchObject({ state: 'failed', failure_check: 'moot', open_slots: 0 });
    expect(await jobState(cancelled)).toMatchObject({ state: 'failed', failure_check: 'moot', open_slots: 0 });
  });
});
