import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { createBuyerKey, lease, pageFor, registerDevice, upload } from '../test/scrape-fixtures';

/** Origins the URL rules let through in this suite; nothing listens there, nothing is fetched. */
const origins = Array.from({ length: 8 }, (_, i) => `http://127.0.0.1:${4101 + i}`);
const cap = 3;

describeEachDatabase('job leases: a cap per device, and expiry that never waits', (database, kind) => {
  let app: FastifyInstance;
  let apiKey: string;

  /** A campaign over the suite's origins, leasable at once (robots.txt marked known). */
  const createCampaign = async (urls: string[]) => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/campaigns',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: { name: 'lease limits', urls },
    });
    expect(response.statusCode, response.body).toBe(201);
    await database().query(`update hosts set robots_status = 'allow_all' where origin = any($1::text[])`, [origins]);
  };
  const retireOtherJobs = () =>
    database().query(
      `update jobs set open_slots = 0, state = 'failed', failure_reason = 'retired' where state = 'queued'`,
    );
  const liveLeases = async (address: string) =>
    (
      await database().query<{ count: number }>(
        `select count(*)::int as count from assignments where device = $1 and state = 'leased' and expires_at > now()`,
        [address],
      )
    )[0]?.count;

  beforeAll(async () => {
    app = await buildTestApp(database(), { testOrigins: origins, limits: { leasesPerDevice: cap } });
    apiKey = await createBuyerKey(app);
  });
  afterAll(async () => {
    await app.close();
  });

  it('never lets a device hold more live leases than its cap, asked again and again or all at once', async () => {
    await retireOtherJobs();
    await createCampaign(origins.flatMap((origin) => Array.from({ length: 5 }, (_, i) => `${origin}/page-${i}`)));
    const hoarder = await registerDevice(app);
    const held: string[] = [];
    for (let round = 0; round < 6; round += 1)
      held.push(...(await lease(app, hoarder, 5)).jobs.map((job) => job.jobId));
    expect(held).toHaveLength(cap);
    const refused = await lease(app, hoarder, 5);
    expect(refused.jobs).toHaveLength(0);
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);

    const rusher = await registerDevice(app);
    const burst = await Promise.all(Array.from({ length: 10 }, () => lease(app, rusher, 5)));
    expect(burst.flatMap((answer) => answer.jobs)).toHaveLength(cap);
    expect(await liveLeases(rusher.address)).toBe(cap);
  });

  it('lets a device lease again once its leases are submitted or have expired', async () => {
    await retireOtherJobs();
    await createCampaign(origins.flatMap((origin) => Array.from({ length: 5 }, (_, i) => `${origin}/again-${i}`)));
    const device = await registerDevice(app);
    const first = (await lease(app, device, 5)).jobs;
    expect(first).toHaveLength(cap);
    expect((await lease(app, device, 5)).jobs).toHaveLength(0);

    const acks = await upload(
      app,
      device,
      first.map((job) => pageFor(job, `Text of ${job.url}`)),
    );
    expect(acks.acks.map((ack) => ack.status)).toEqual(['accepted', 'accepted', 'accepted']);
    const second = (await lease(app, device, 5)).jobs;
    expect(second).toHaveLength(cap);

    await database().query(`update assignments set expires_at = now() - interval '1 second' where device = $1`, [
      device.address,
    ]);
    expect((await lease(app, device, 5)).jobs).toHaveLength(cap);
  });

  // PGlite runs one transaction at a time, so a second one cannot hold a lock meanwhile.
  it.skipIf(kind === 'pglite')(
    'expires leases without waiting for rows another transaction holds, and returns each slot once',
    async () => {
      await retireOtherJobs();
      await createCampaign([`${origins[0]}/held-by-ingest`]);
      const first = await registerDevice(app);
      const [job] = (await lease(app, first, 1)).jobs;
      if (!job) throw new Error('no job leased');
      await database().query(`update assignments set expires_at = now() - interval '1 second' where id = $1`, [
        job.assignmentId,
      ]);

      // Hold the expired lease's assignment and job rows, as an ingest of a late upload does.
      let release = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let holding = () => {};
      const held = new Promise<void>((resolve) => {
        holding = resolve;
      });
      const holder = database().transaction(async (tx) => {
        await tx.query('select 1 from assignments where id = $1 for update', [job.assignmentId]);
        await tx.query('select 1 from jobs where id = (select job_id from assignments where id = $1) for update', [
          job.assignmentId,
        ]);
        holding();
        await released;
      });
      await held;
      const second = await registerDevice(app);
      try {
        const during = await Promise.race([
          lease(app, second, 1),
          new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 3000)),
        ]);
        expect(during, 'leasing waited for the rows another transaction holds').not.toBe('waited');
        // The expired lease is still held: its slot is not back yet.
        expect(during).toMatchObject({ jobs: [] });
      } finally {
        release();
        await holder;
      }

      const again = await lease(app, second, 1);
      expect(again.jobs.map((leased) => leased.url)).toEqual([job.url]);
      const third = await registerDevice(app);
      expect((await lease(app, third, 1)).jobs).toHaveLength(0);
      const slots = await database().query<{ open_slots: number }>(
        'select open_slots from jobs where id = (select job_id from assignments where id = $1)',
        [job.assignmentId],
      );
      expect(slots[0]?.open_slots).toBe(0);
    },
  );
});
