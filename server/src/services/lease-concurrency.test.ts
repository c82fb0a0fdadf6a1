import type { LeasedJob } from '@protocol/jobs';
import type { FailedFetch } from '@protocol/results';
import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem/accounts';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { Database } from '../db/database';
import { migrate } from '../db/migrate';
import { openPostgresDatabase } from '../db/postgres-database';
import { buildTestApp } from '../test/app';
import { createTestSchema, describePostgres, postgresTestUrl } from '../test/databases';
import { createBuyerKey, lease, pageFor, registerDevice, upload } from '../test/scrape-fixtures';

/** Origins the URL rules let through in this suite; nothing listens there, nothing is fetched. */
const origins = Array.from({ length: 6 }, (_, i) => `http://127.0.0.1:${4201 + i}`);
const cap = 5;

// PGlite runs one transaction at a time: only real PostgreSQL lets these leases and uploads overlap.
describePostgres('job leases and uploads racing each other on PostgreSQL', () => {
  let db: Database;
  let drop: () => Promise<void>;
  let app: FastifyInstance;
  let apiKey: string;

  beforeAll(async () => {
    const schema = await createTestSchema();
    drop = schema.drop;
    // More connections than the other suites: enough transactions at once for the leases to contend.
    db = await openPostgresDatabase(postgresTestUrl, { schema: schema.schema, maxConnections: 16 });
    await migrate(db);
    app = await buildTestApp(db, { testOrigins: origins, limits: { leasesPerDevice: cap } });
    apiKey = await createBuyerKey(app);
  });
  afterAll(async () => {
    await app.close();
    await db.close();
    await drop();
  });
  beforeEach(async () => {
    // Each test leases only the jobs of its own campaign.
    await db.query(`update jobs set open_slots = 0, state = 'failed' where state in ('queued', 'fetched')`);
  });

  /** A campaign of `perOrigin` pages on each origin, `copies` copies each, leasable at once with the given crawl delay. */
  const createCampaign = async (tag: string, perOrigin: number, copies: number, crawlDelayMs: number) => {
    const urls = origins.flatMap((origin) => Array.from({ length: perOrigin }, (_, i) => `${origin}/${tag}-${i}`));
    const response = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: { name: tag, urls },
    });
    expect(response.statusCode, response.body).toBe(201);
    const campaignId = (response.json() as { campaign: { id: string } }).campaign.id;
    await db.query('update jobs set copies_wanted = $2, open_slots = $2 where campaign_id = $1', [campaignId, copies]);
    await db.query(
      `update hosts set robots_status = 'allow_all', crawl_delay_ms = $2, next_fetch_at = now(), consecutive_errors = 0
        where origin = any($1::text[])`,
      [origins, crawlDelayMs],
    );
    return campaignId;
  };
  const registerMany = (count: number) => Promise.all(Array.from({ length: count }, () => registerDevice(app)));

  it('never leases a job beyond its copies nor an origin before its crawl delay, with many devices at once', async () => {
    const crawlDelayMs = 200;
    const campaignId = await createCampaign('slots', 4, 2, crawlDelayMs);
    const slots = origins.length * 4 * 2;
    const devices = await registerMany(24);
    const leased: LeasedJob[] = [];
    // Every device asks at once, again and again, until the slots are gone: each origin's turns come 200 ms apart.
    for (let round = 0; round < 200 && leased.length < slots; round += 1) {
      const answers = await Promise.all(devices.map((device) => lease(app, device, cap)));
      leased.push(...answers.flatMap((answer) => answer.jobs));
    }
    expect(leased).toHaveLength(slots);
    expect(new Set(leased.map((job) => job.assignmentId)).size).toBe(slots);

    const overLeased = await db.query<{ id: string }>(
      `select j.id::text as id from jobs j
        where j.campaign_id = $1
          and (j.open_slots <> 0
               or (select count(*) from assignments a where a.job_id = j.id and a.state <> 'expired') <> j.copies_wanted
               or (select count(distinct a.device) from assignments a where a.job_id = j.id) <> j.copies_wanted)`,
      [campaignId],
    );
    expect(overLeased, 'jobs leased beyond (or short of) their copies, or twice to one device').toEqual([]);
    // Two leases of one origin are at least its crawl delay apart (each lease is stamped with its transaction's time).
    const tooSoon = await db.query<{ origin: string; gap_ms: number }>(
      `select origin, gap_ms from (
         select j.origin, extract(epoch from a.leased_at - lag(a.leased_at) over (partition by j.origin order by a.leased_at)) * 1000 as gap_ms
           from assignments a join jobs j on j.id = a.job_id where j.campaign_id = $1) gaps
        where gap_ms < $2`,
      [campaignId, crawlDelayMs],
    );
    expect(tooSoon, 'an origin leased before its crawl delay passed').toEqual([]);
  });

  it('never deadlocks nor loses a record while devices upload, fail and back off origins that others are leasing', async () => {
    const campaignId = await createCampaign('race', 12, 1, 0);
    const uploaders = await registerMany(12);
    const held = new Map<LocalAccount, LeasedJob[]>();
    for (const device of uploaders) {
      const jobs: LeasedJob[] = [];
      for (let round = 0; round < 3 && jobs.length < cap; round += 1)
        jobs.push(...(await lease(app, device, cap)).jobs);
      held.set(device, jobs);
    }
    // Some origins are in an error streak: a fetched page ends it, so those uploads lock and write their host rows.
    await db.query('update hosts set consecutive_errors = 2 where origin = any($1::text[])', [origins.slice(0, 3)]);
    const overloaded = (job: LeasedJob): FailedFetch => ({
      outcome: 'failed',
      assignmentId: job.assignmentId,
      jobId: job.jobId,
      url: job.url,
      fetchedAt: new Date().toISOString(),
      bytesFetched: 0,
      error: 'http_error',
      detail: 'HTTP 503',
      httpStatus: 503,
      retryAfterSeconds: 1,
    });
    const sent = { pages: 0, failures: 0 };
    const uploads = [...held].flatMap(([device, jobs], d) => {
      // Every third job fails as overloaded (backing its origin off); halves in opposite orders, sent at once.
      const records = jobs.map((job, i) => ((i + d) % 3 === 0 ? overloaded(job) : pageFor(job, `text of ${job.url}`)));
      for (const record of records) sent[record.outcome === 'fetched' ? 'pages' : 'failures'] += 1;
      const half = Math.ceil(records.length / 2);
      return [records.slice(0, half), records.slice(half).reverse()].map((batch) => upload(app, device, batch));
    });
    const leasers = await registerMany(12);
    const leases = leasers.flatMap((device) => [lease(app, device, cap), lease(app, device, cap)]);
    const [answers] = await Promise.all([Promise.all(uploads), Promise.all(leases)]);
    expect(answers.flatMap((answer) => answer.acks.map((ack) => ack.status))).toEqual(
      Array(sent.pages + sent.failures).fill('accepted'),
    );

    const stored = await db.query<{ pages: number; credits: number; settled: number }>(
      `select (select count(*)::int from pages where campaign_id = $1) as pages,
              (select count(*)::int from points_ledger where reference in (
                 select 'scrape:' || p.job_id || ':' || p.device from pages p where p.campaign_id = $1)) as credits,
              (select count(*)::int from assignments a join jobs j on j.id = a.job_id
                where j.campaign_id = $1 and a.state in ('submitted', 'failed')) as settled`,
      [campaignId],
    );
    expect(stored[0]).toEqual({ pages: sent.pages, credits: sent.pages, settled: sent.pages + sent.failures });
    const overLeased = await db.query<{ id: string }>(
      `select j.id::text as id from jobs j
        where j.campaign_id = $1 and (j.open_slots < 0 or
          (select count(*) from assignments a where a.job_id = j.id and a.state in ('leased', 'submitted')) > j.copies_wanted)`,
      [campaignId],
    );
    expect(overLeased).toEqual([]);
    const streaks = await db.query<{ origin: string; consecutive_errors: number }>(
      'select origin, consecutive_errors from hosts where origin = any($1::text[]) and consecutive_errors < 0',
      [origins],
    );
    expect(streaks).toEqual([]);
  });

  it('stores a page without waiting for its origin’s row while a lease holds it', async () => {
    await createCampaign('held-host', 1, 1, 0);
    const device = await registerDevice(app);
    const [job] = (await lease(app, device, 1)).jobs;
    if (!job) throw new Error('no job leased');
    const origin = new URL(job.url).origin;

    // Hold the origin's row as a lease of that origin does, until released.
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let holding = () => {};
    const held = new Promise<void>((resolve) => {
      holding = resolve;
    });
    const holder = db.transaction(async (tx) => {
      await tx.query('select 1 from hosts where origin = $1 for no key update', [origin]);
      holding();
      await released;
    });
    await held;
    try {
      const during = await Promise.race([
        upload(app, device, [pageFor(job, 'a page of a busy origin')]),
        new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 3000)),
      ]);
      expect(during, 'the upload waited for the origin row a lease holds').not.toBe('waited');
      expect(during).toMatchObject({ acks: [{ status: 'accepted' }] });
    } finally {
      release();
      await holder;
    }
  });
});
