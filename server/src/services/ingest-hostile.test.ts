import { randomUUID } from 'node:crypto';
import type { LeasedJob } from '@protocol/jobs';
import type { FailedFetch } from '@protocol/results';
import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem/accounts';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { ScrapingSettings } from '../scraping-settings';
import { buildTestApp, signedInject, testScrapingSettings } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import {
  createBuyerKey,
  failureFor,
  lease,
  pageFor,
  points,
  registerDevice,
  sha256OfText,
  startRobotsSite,
  upload,
} from '../test/scrape-fixtures';
import { maxOriginBackoffSeconds, uncorroboratedBackoffSeconds } from './ingest-service';
import { processPendingRobots } from './robots-service';

type Site = Awaited<ReturnType<typeof startRobotsSite>>;
type Ack = { index: number; status: string; code?: string; reason?: string };

describeEachDatabase('ingest under hostile input', (database, kind) => {
  let sites: Site[] = [];
  let settings: ScrapingSettings;
  let app: FastifyInstance;
  let apiKey: string;

  beforeAll(async () => {
    sites = await Promise.all([startRobotsSite(''), startRobotsSite(''), startRobotsSite('')]);
    settings = { ...testScrapingSettings, testOrigins: sites.map((site) => site.origin) };
    app = await buildTestApp(database(), settings);
    apiKey = await createBuyerKey(app);
  });
  afterAll(async () => {
    await app.close();
    await Promise.all(sites.map((site) => site.close()));
  });
  beforeEach(async () => {
    // Each test leases only the jobs of its own campaign.
    await database().query(`update jobs set open_slots = 0, state = 'failed' where state in ('queued', 'fetched')`);
  });

  /** A campaign of `count` pages spread over the test sites, with every robots.txt fetched. */
  async function campaign(count: number, overrides: Partial<ScrapingSettings> = {}): Promise<string> {
    const tag = randomUUID().slice(0, 8);
    const urls = Array.from({ length: count }, (_, i) => `${sites[i % sites.length]?.origin}/${tag}/page-${i}`);
    const response = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: { name: `hostile ${tag}`, urls },
    });
    expect(response.statusCode, response.body).toBe(201);
    await processPendingRobots(database(), { ...settings, ...overrides });
    return response.json().campaign.id as string;
  }

  /** Leases until the device holds `count` jobs (one per origin per call). */
  async function leaseMany(device: LocalAccount, count: number): Promise<LeasedJob[]> {
    const jobs: LeasedJob[] = [];
    for (let round = 0; round < count * 2 && jobs.length < count; round += 1) {
      jobs.push(...(await lease(app, device, Math.min(5, count - jobs.length))).jobs);
    }
    expect(jobs).toHaveLength(count);
    return jobs;
  }

  /** One job leased by `late`, whose lease then runs out (the page fetched while it held), and leased again by `prompt`. */
  async function leasedTwiceAfterExpiry() {
    await campaign(1);
    const late = await registerDevice(app);
    const prompt = await registerDevice(app);
    const [first] = await leaseMany(late, 1);
    if (!first) throw new Error('expected a job');
    const fetchedAt = new Date().toISOString();
    await database().query(
      `update assignments set expires_at = now() - interval '1 second', leased_at = now() - interval '6 minutes' where id = $1`,
      [first.assignmentId],
    );
    const [second] = await leaseMany(prompt, 1);
    if (second?.url !== first.url) throw new Error('expected the job to be leased again');
    return { late, prompt, first, second, fetchedAt };
  }

  /** The server's job behind a lease (leases name themselves, not their job). */
  const jobOf = async (leased: LeasedJob) =>
    (
      await database().query<{ job_id: string }>('select job_id::text as job_id from assignments where id = $1', [
        leased.assignmentId,
      ])
    )[0]?.job_id;

  const countRows = async (sql: string, params: unknown[]) =>
    (await database().query<{ n: number }>(`select count(*)::int as n from ${sql}`, params))[0]?.n ?? 0;

  it('keeps seven good records, refuses a NUL, a wrong hash and a foreign lease, and acknowledges the batch', async () => {
    await campaign(11);
    const device = await registerDevice(app);
    const other = await registerDevice(app);
    const jobs = await leaseMany(device, 10);
    const [foreignJob] = await leaseMany(other, 1);
    if (!foreignJob) throw new Error('no job for the other device');
    const good = jobs.slice(0, 7).map((job) => pageFor(job, `Good text of ${job.url}`));
    const nulJob = jobs[7] as LeasedJob;
    const withNul = { ...pageFor(nulJob, 'plain text with a \u0000 inside'), textSha256: sha256OfText('x') };
    const wrongHash = { ...pageFor(jobs[8] as LeasedJob, 'real text'), textSha256: sha256OfText('other text') };
    const foreign = pageFor(foreignJob, 'not mine');
    const answer = await upload(app, device, [...good.slice(0, 3), withNul, wrongHash, foreign, ...good.slice(3)]);
    const acks = answer.acks as Ack[];
    expect(acks.map((ack) => ack.status)).toEqual([
      'accepted',
      'accepted',
      'accepted',
      'rejected',
      'rejected',
      'rejected',
      'accepted',
      'accepted',
      'accepted',
      'accepted',
    ]);
    expect(acks.slice(3, 6).map((ack) => ack.code)).toEqual(['invalid_text', 'hash_mismatch', 'foreign_assignment']);
    expect(acks[3]?.reason).toMatch(/result\.text.*NUL/);
    expect(await countRows('pages where device = $1', [device.address])).toBe(7);
    // The batch is settled: sending it again changes nothing and answers the same.
    const again = await signedInject(app, device, {
      method: 'POST',
      url: '/v1/results',
      body: {
        batchId: answer.batchId,
        results: [...good.slice(0, 3), withNul, wrongHash, foreign, ...good.slice(3)],
      },
    });
    expect(again.json().acks).toEqual(answer.acks);
  });

  it('keeps a page whose fetch time is written with an offset the database cannot store (+16:00)', async () => {
    await campaign(2);
    const device = await registerDevice(app);
    const [far, fine] = await leaseMany(device, 2);
    if (!far || !fine) throw new Error('expected two jobs');
    const page = pageFor(far, 'text from far east');
    // The same instant, written sixteen hours ahead: valid ISO 8601, beyond PostgreSQL's ±15:59.
    const instant = Date.parse(page.fetchedAt);
    const fetchedAt = new Date(instant + 16 * 3_600_000).toISOString().replace('Z', '+16:00');
    const answer = await upload(app, device, [{ ...page, fetchedAt }, pageFor(fine, 'fine text')]);
    expect(answer.acks.map((ack) => ack.status)).toEqual(['accepted', 'accepted']);
    const [stored] = await database().query<{ fetched_at: Date }>(
      'select fetched_at from pages where device = $1 and url = $2',
      [device.address, far.url],
    );
    expect(stored?.fetched_at.getTime()).toBe(instant);
  });

  it('refuses alone a record the database refuses for a reason no check foresaw, keeping the rest of its batch', async () => {
    // A refusal no check knows of, made by the database itself: a trigger raising a data error on one title.
    await database().query(
      `create or replace function refuse_one_title() returns trigger language plpgsql as $$
       begin
         if new.title = 'refused by the database' then
           raise exception 'this title is refused' using errcode = '22023';
         end if;
         return new;
       end $$`,
    );
    await database().query(
      'create trigger refuse_one_title before insert on pages for each row execute function refuse_one_title()',
    );
    try {
      await campaign(7);
      const device = await registerDevice(app);
      const jobs = await leaseMany(device, 7);
      // Two of seven refused, in different halves of the batch.
      const results = jobs.map((job, n) => ({
        ...pageFor(job, `text of ${job.url}`),
        ...(n === 1 || n === 5 ? { title: 'refused by the database' } : {}),
      }));
      const answer = await upload(app, device, results);
      expect(answer.acks.map((ack) => [ack.status, (ack as Ack).code])).toEqual(
        results.map((_, n) => (n === 1 || n === 5 ? ['rejected', 'invalid_record'] : ['accepted', undefined])),
      );
      expect((answer.acks[1] as Ack).reason).toMatch(/could not store this record: this title is refused/);
      expect(await countRows('pages where device = $1', [device.address])).toBe(5);
      const again = await signedInject(app, device, {
        method: 'POST',
        url: '/v1/results',
        body: { batchId: answer.batchId, results },
      });
      expect(again.statusCode).toBe(200);
      expect(again.json().acks).toEqual(answer.acks);
    } finally {
      await database().query('drop trigger refuse_one_title on pages');
      await database().query('drop function refuse_one_title()');
    }
  });

  it.each([
    ['text', { text: 'a\u0000b' }],
    ['title', { title: 'Ti\u0000tle' }],
    ['lang', { lang: 'e\u0000n' }],
    ['html', { html: '<p>\u0000</p>' }],
    ['url', { url: 'https://example.com/\u0000' }],
    ['contentType', { contentType: 'text/plain\u0000' }],
    ['a lone surrogate', { title: 'broken \ud800 pair' }],
  ])('refuses a page with a bad %s on its own, never failing the batch', async (_what, change) => {
    await campaign(2);
    const device = await registerDevice(app);
    const [bad, fine] = await leaseMany(device, 2);
    if (!bad || !fine) throw new Error('expected two jobs');
    const answer = await upload(app, device, [{ ...pageFor(bad, 'text'), ...change }, pageFor(fine, 'fine text')]);
    expect(answer.acks.map((ack) => [ack.status, (ack as Ack).code])).toEqual([
      ['rejected', 'invalid_text'],
      ['accepted', undefined],
    ]);
  });

  it('refuses a failure report with a NUL in its detail and out-of-range numbers, record by record', async () => {
    await campaign(3);
    const device = await registerDevice(app);
    const [a, b, c] = await leaseMany(device, 3);
    if (!a || !b || !c) throw new Error('expected three jobs');
    const failure = (job: LeasedJob, extra: Partial<FailedFetch>): FailedFetch => ({
      ...failureFor(job, { error: 'http_error', detail: 'HTTP 429', httpStatus: 429, retryAfterSeconds: 5 }),
      ...extra,
    });
    const answer = await upload(app, device, [
      failure(a, { detail: 'bad \u0000 detail' }),
      { ...pageFor(b, 'big'), bytesFetched: 2 ** 31 },
      failure(c, { retryAfterSeconds: 2 ** 31 }),
    ]);
    expect(answer.acks.map((ack) => (ack as Ack).code)).toEqual(['invalid_text', 'out_of_range', 'out_of_range']);
    // None of the refused records moved the origins' schedules.
    const late = await database().query<{ n: number }>(
      `select count(*)::int as n from hosts where origin = any($1) and next_fetch_at > now() + interval '1 minute'`,
      [sites.map((site) => site.origin)],
    );
    expect(late[0]?.n).toBe(0);
  });

  it('backs an origin off a minute at most on one device’s word, and never beyond the clamp on two', async () => {
    await campaign(1);
    const overloaded = (job: LeasedJob): FailedFetch =>
      failureFor(job, { error: 'http_error', detail: 'HTTP 429', httpStatus: 429, retryAfterSeconds: 300 * 24 * 3600 });
    const waitOf = async (origin: string) =>
      (
        await database().query<{ wait: number }>(
          `select extract(epoch from next_fetch_at - now())::float8 as wait from hosts where origin = $1`,
          [origin],
        )
      )[0]?.wait ?? 0;
    const first = await registerDevice(app);
    const [job] = await leaseMany(first, 1);
    if (!job) throw new Error('expected a job');
    const origin = new URL(job.url).origin;
    expect((await upload(app, first, [overloaded(job)])).acks[0]?.status).toBe('accepted');
    expect(await waitOf(origin)).toBeGreaterThan(uncorroboratedBackoffSeconds - 10);
    expect(await waitOf(origin)).toBeLessThanOrEqual(uncorroboratedBackoffSeconds);

    // The minute passes; another device finds the site overloaded too.
    await database().query('update hosts set next_fetch_at = now() where origin = $1', [origin]);
    const second = await registerDevice(app);
    const [again] = await leaseMany(second, 1);
    if (!again) throw new Error('expected the job again');
    expect((await upload(app, second, [overloaded(again)])).acks[0]?.status).toBe('accepted');
    expect(await waitOf(origin)).toBeGreaterThan(maxOriginBackoffSeconds - 60);
    expect(await waitOf(origin)).toBeLessThanOrEqual(maxOriginBackoffSeconds);
    await database().query(`update hosts set next_fetch_at = now(), consecutive_errors = 0 where origin = $1`, [
      origin,
    ]);
  });

  it('writes an origin’s row for a fetched page only to end its error streak, never when the streak is zero', async () => {
    await campaign(2);
    const device = await registerDevice(app);
    const [calm, erring] = await leaseMany(device, 2);
    if (!calm || !erring) throw new Error('expected two jobs');
    const calmOrigin = new URL(calm.url).origin;
    const erringOrigin = new URL(erring.url).origin;
    expect(calmOrigin).not.toBe(erringOrigin);
    await database().query('update hosts set consecutive_errors = 0 where origin = $1', [calmOrigin]);
    await database().query('update hosts set consecutive_errors = 3 where origin = $1', [erringOrigin]);
    // xmin names the transaction that wrote the row's current version: unchanged means not written.
    const hostRow = async (origin: string) =>
      (
        await database().query<{ version: string; errors: number }>(
          'select xmin::text as version, consecutive_errors as errors from hosts where origin = $1',
          [origin],
        )
      )[0];
    const calmBefore = await hostRow(calmOrigin);

    const answer = await upload(app, device, [pageFor(calm, 'calm text'), pageFor(erring, 'erring text')]);
    expect(answer.acks.map((ack) => ack.status)).toEqual(['accepted', 'accepted']);
    expect(await hostRow(calmOrigin)).toEqual(calmBefore);
    expect((await hostRow(erringOrigin))?.errors).toBe(0);
  });

  it('applies a record repeated inside one batch once', async () => {
    await campaign(1);
    const device = await registerDevice(app);
    const [job] = await leaseMany(device, 1);
    if (!job) throw new Error('expected a job');
    const page = pageFor(job, 'once only');
    const answer = await upload(app, device, [page, page, { ...page, title: 'changed' }]);
    expect(answer.acks.map((ack) => [ack.status, (ack as Ack).code])).toEqual([
      ['accepted', undefined],
      ['duplicate', 'already_received'],
      ['duplicate', 'already_received'],
    ]);
    expect(await countRows('pages where device = $1', [device.address])).toBe(1);
    expect(await countRows('points_ledger where device = $1', [device.address])).toBe(1);
  });

  it('counts a failure repeated inside one batch once, so its job is not offered to two devices', async () => {
    await campaign(1);
    const device = await registerDevice(app);
    const [job] = await leaseMany(device, 1);
    if (!job) throw new Error('expected a job');
    const failure: FailedFetch = {
      outcome: 'failed',
      assignmentId: job.assignmentId,
      jobId: job.jobId,
      url: job.url,
      fetchedAt: new Date().toISOString(),
      bytesFetched: 0,
      error: 'timeout',
      detail: 'no answer in 30 s',
      httpStatus: null,
      retryAfterSeconds: null,
    };
    const answer = await upload(app, device, [failure, failure, failure]);
    expect(answer.acks.map((ack) => ack.status)).toEqual(['accepted', 'duplicate', 'duplicate']);
    const rows = await database().query<{ open_slots: number; attempts: number }>(
      'select open_slots, attempts from jobs where id = $1',
      [await jobOf(job)],
    );
    expect(rows[0]).toEqual({ open_slots: 1, attempts: 1 });
    await database().query(`update hosts set next_fetch_at = now(), consecutive_errors = 0`);
  });

  it('refuses a page whose URL is not its job’s, or whose fetch time lies outside its lease', async () => {
    await campaign(3);
    const device = await registerDevice(app);
    const [a, b, c] = await leaseMany(device, 3);
    if (!a || !b || !c) throw new Error('expected three jobs');
    const answer = await upload(app, device, [
      { ...pageFor(a, 'elsewhere'), url: `${new URL(a.url).origin}/some/other/page` },
      { ...pageFor(b, 'from the past'), fetchedAt: new Date(Date.now() - 24 * 3600_000).toISOString() },
      { ...pageFor(c, 'from the future'), fetchedAt: '2094-01-01T00:00:00.000Z' },
    ]);
    expect(answer.acks.map((ack) => (ack as Ack).code)).toEqual(['url_mismatch', 'outside_lease', 'outside_lease']);
    expect(await countRows('pages where device = $1', [device.address])).toBe(0);
  });

  it('pays a job once: a late original after the job was leased again is kept as an unpaid duplicate', async () => {
    const { late, prompt, first, second, fetchedAt } = await leasedTwiceAfterExpiry();
    expect((await upload(app, prompt, [pageFor(second, 'the page')])).acks[0]?.status).toBe('accepted');
    const answer = await upload(app, late, [{ ...pageFor(first, 'the page'), fetchedAt }]);
    expect(answer.acks[0]).toMatchObject({ status: 'duplicate', code: 'job_complete' });
    const jobId = await jobOf(first);
    expect(await countRows(`pages where job_id = $1 and verification <> 'duplicate'`, [jobId])).toBe(1);
    expect(await countRows(`points_ledger where reference like $1`, [`scrape:${jobId}:%`])).toBe(1);
    expect((await points(app, late)).pending).toBe(0);
  });

  it('pays a job once when the late original arrives first, and the second copy is the duplicate', async () => {
    const { late, prompt, first, second, fetchedAt } = await leasedTwiceAfterExpiry();
    expect((await upload(app, late, [{ ...pageFor(first, 'the page'), fetchedAt }])).acks[0]?.status).toBe('accepted');
    const answer = await upload(app, prompt, [pageFor(second, 'the page')]);
    expect(answer.acks[0]).toMatchObject({ status: 'duplicate', code: 'job_complete' });
    expect(await countRows(`points_ledger where reference like $1`, [`scrape:${await jobOf(first)}:%`])).toBe(1);
  });

  it('answers twenty concurrent copies of one batch alike, storing and crediting it once', async () => {
    await campaign(3);
    const device = await registerDevice(app);
    const jobs = await leaseMany(device, 3);
    const body = { batchId: randomUUID(), results: jobs.map((job) => pageFor(job, `text of ${job.url}`)) };
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => signedInject(app, device, { method: 'POST', url: '/v1/results', body })),
    );
    expect(responses.map((response) => response.statusCode)).toEqual(Array(20).fill(200));
    const first = responses[0]?.json().acks;
    expect(first.map((ack: Ack) => ack.status)).toEqual(['accepted', 'accepted', 'accepted']);
    for (const response of responses) expect(response.json().acks).toEqual(first);
    expect(await countRows('pages where device = $1', [device.address])).toBe(3);
    expect(await countRows('points_ledger where device = $1', [device.address])).toBe(3);
  });

  it('refuses a batch id another device used, for every record', async () => {
    await campaign(2);
    const owner = await registerDevice(app);
    const thief = await registerDevice(app);
    const [mine] = await leaseMany(owner, 1);
    const [theirs] = await leaseMany(thief, 1);
    if (!mine || !theirs) throw new Error('expected jobs');
    const batchId = randomUUID();
    await upload(app, owner, [pageFor(mine, 'mine')], batchId);
    const answer = await upload(app, thief, [pageFor(theirs, 'theirs')], batchId);
    expect(answer.acks[0]).toMatchObject({ status: 'rejected', code: 'batch_id_taken' });
  });

  it.skipIf(kind !== 'postgres')(
    'never deadlocks when two devices upload copies of the same jobs in opposite orders',
    async () => {
      await database().query(`update jobs set open_slots = 0, state = 'failed' where state in ('queued', 'fetched')`);
      await campaign(12);
      await database().query(
        `update jobs set copies_wanted = 2, open_slots = 2 where state = 'queued' and open_slots = 1`,
      );
      const devices = [await registerDevice(app), await registerDevice(app)];
      const leased = await Promise.all(devices.map((device) => leaseMany(device, 12)));
      const batches = leased.map((jobs, i) => {
        const pages = jobs.map((job) => pageFor(job, `same text of ${job.url}`));
        pages.sort((x, y) => (x.url < y.url ? -1 : x.url > y.url ? 1 : 0));
        return i === 0 ? pages : pages.reverse();
      });
      // Split into small batches sent at once, so the two transactions interleave on the same job and host rows.
      const sends = devices.flatMap((device, i) =>
        [0, 4, 8].map((start) => upload(app, device, (batches[i] ?? []).slice(start, start + 4))),
      );
      const answers = await Promise.all(sends);
      expect(answers.flatMap((answer) => answer.acks.map((ack) => ack.status))).toEqual(Array(24).fill('accepted'));
    },
  );

  it('a report on a lease past its time but not yet swept keeps the job leasable: its slot was never given back', async () => {
    const campaignId = await campaign(2);
    // Audit copies that earlier tests' uploads queue in the background are leased first: keep them out.
    await database().query(
      `update jobs set open_slots = 0, state = 'failed' where campaign_id <> $1 and state in ('queued', 'fetched')`,
      [campaignId],
    );
    const device = await registerDevice(app);
    const [failed, fetched] = await leaseMany(device, 2);
    if (!failed || !fetched) throw new Error('expected two jobs');
    // What a device is told is its lease; the job behind it is the server's.
    const jobOf = async (job: LeasedJob) =>
      (
        await database().query<{ job_id: string; campaign_id: string }>(
          'select a.job_id::text as job_id, j.campaign_id from assignments a join jobs j on j.id = a.job_id where a.id = $1',
          [job.assignmentId],
        )
      )[0];
    const [failedJob, fetchedJob] = [await jobOf(failed), await jobOf(fetched)];
    expect([failedJob?.campaign_id, fetchedJob?.campaign_id]).toEqual([campaignId, campaignId]);
    // Both leases run out, and no sweep has returned their slots yet (a sweep runs at most once a second).
    await database().query(
      `update assignments set expires_at = now() - interval '1 second' where id = any($1::bigint[])`,
      [[failed.assignmentId, fetched.assignmentId]],
    );
    const answer = await upload(app, device, [
      {
        outcome: 'failed',
        assignmentId: failed.assignmentId,
        jobId: failed.jobId,
        url: failed.url,
        fetchedAt: new Date().toISOString(),
        bytesFetched: 0,
        error: 'network_error',
        detail: 'connection reset',
        httpStatus: null,
        retryAfterSeconds: null,
      } satisfies FailedFetch,
      pageFor(fetched, 'late but whole'),
    ]);
    expect(answer.acks.map((ack) => ack.status)).toEqual(['accepted', 'accepted']);
    const [retry] = await database().query<{ open_slots: number; state: string }>(
      'select open_slots, state from jobs where id = $1',
      [failedJob?.job_id],
    );
    // The failed job goes back to the queue with its one slot (before: none, and it was never leased again).
    expect(retry).toEqual({ open_slots: 1, state: 'queued' });
    const [done] = await database().query<{ open_slots: number; copies_received: number }>(
      'select open_slots, copies_received from jobs where id = $1',
      [fetchedJob?.job_id],
    );
    expect(done).toEqual({ open_slots: 0, copies_received: 1 });
  });

  it('refuses to truncate the ledger', async () => {
    // The epochs' records reference ledger rows, so a plain TRUNCATE is already refused for that; CASCADE
    // would take them along, and the ledger's own guard refuses it.
    await expect(database().query('truncate points_ledger')).rejects.toThrow(/append-only|foreign key/);
    await expect(database().query('truncate points_ledger cascade')).rejects.toThrow(/append-only/);
    expect(await database().query('select 1 from points_ledger limit 1')).toBeDefined();
  });
});
