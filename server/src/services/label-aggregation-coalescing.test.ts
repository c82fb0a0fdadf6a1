import { randomUUID } from 'node:crypto';
import type { LeasedTask } from '@protocol/labeling';
import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem/accounts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp, signedInject } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { createBuyerKey, registerDevice, upload } from '../test/scrape-fixtures';
import { aggregateProject } from './label-aggregation';

const sentiment = { type: 'single_choice', choices: ['positive', 'negative'] };

describeEachDatabase('aggregation coalesced per project while labels keep arriving', (database) => {
  let app: FastifyInstance;
  let apiKey: string;

  beforeAll(async () => {
    // A long interval: the test decides when the coalesced run is due, so nothing depends on timing.
    app = await buildTestApp(database(), {}, { work: { labelSettleMs: 0, aggregationIntervalMs: 60_000 } });
    apiKey = await createBuyerKey(app);
  });
  afterAll(async () => {
    await app.close();
  });

  const createProject = async (): Promise<string> => {
    await database().query('update project_items set complete = true');
    const response = await app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: {
        name: 'burst',
        instructions: 'Label the sentiment.',
        labelSchema: sentiment,
        overlap: 3,
        goldRate: 0,
        items: Array.from({ length: 4 }, (_, i) => ({ id: `i${i}`, content: { type: 'text', text: `review ${i}` } })),
      },
    });
    expect(response.statusCode, response.body).toBe(201);
    return (response.json() as { project: { id: string } }).project.id;
  };
  const leaseAll = async (device: LocalAccount): Promise<LeasedTask[]> => {
    const response = await signedInject(app, device, { method: 'POST', url: '/v1/tasks/lease', body: { max: 5 } });
    expect(response.statusCode, response.body).toBe(200);
    return (response.json() as { tasks: LeasedTask[] }).tasks;
  };
  const answer = (task: LeasedTask, choice: string) => ({
    kind: 'label',
    assignmentId: task.assignmentId,
    labeledAt: new Date().toISOString(),
    answer: { type: 'single_choice', choice },
  });
  const aggregates = async (projectId: string) =>
    (
      await database().query<{ label: string }>(
        'select label from aggregated_labels where project_id = $1 order by item_id',
        [projectId],
      )
    ).map((row) => row.label);
  const runs = async (projectId: string) =>
    database().query<{ state: string; due_in_s: number }>(
      `select state, extract(epoch from run_at - now())::int as due_in_s from work_items
        where kind = 'aggregate_project' and key = $1 order by id`,
      [projectId],
    );

  it('runs once for a burst of uploads within the interval, and that run takes every label of the burst', async () => {
    const projectId = await createProject();
    const [first, second, third] = [await registerDevice(app), await registerDevice(app), await registerDevice(app)];
    if (!first || !second || !third) throw new Error('labelers not registered');

    // After a quiet spell the first upload's aggregation runs at once.
    const firstTasks = await leaseAll(first);
    expect(firstTasks).toHaveLength(4);
    await upload(
      app,
      first,
      firstTasks.map((task) => answer(task, 'negative')),
    );
    await app.workQueue.drain();
    expect(await aggregates(projectId)).toEqual(['negative', 'negative', 'negative', 'negative']);
    expect((await runs(projectId)).map((run) => run.state)).toEqual(['done']);

    // Eight uploads of one label each, two labelers at once, all within the interval of that run.
    const leased = [await leaseAll(second), await leaseAll(third)];
    const burst = await Promise.all(
      [second, third].map(async (labeler, n) => {
        const acks = [];
        for (const task of leased[n] ?? [])
          acks.push(...(await upload(app, labeler, [answer(task, 'positive')], randomUUID())).acks);
        return acks;
      }),
    );
    expect(burst.flat().map((ack) => ack.status)).toEqual(Array(8).fill('accepted'));
    await app.workQueue.drain();
    const waiting = await runs(projectId);
    expect(waiting.map((run) => run.state)).toEqual(['done', 'queued']);
    expect(waiting[1]?.due_in_s).toBeGreaterThan(30);
    expect(await aggregates(projectId)).toEqual(['negative', 'negative', 'negative', 'negative']);
    expect(
      await database().query(`select 1 from points_ledger where reference like 'label:%' and device = $1`, [
        second.address,
      ]),
    ).toHaveLength(0);

    // The interval passes: one run aggregates all eight labels and pays each label once.
    await database().query(
      `update work_items set run_at = now() where kind = 'aggregate_project' and key = $1 and state = 'queued'`,
      [projectId],
    );
    app.workQueue.kick();
    await app.workQueue.drain();
    expect((await runs(projectId)).map((run) => run.state)).toEqual(['done', 'done']);
    expect(await aggregates(projectId)).toEqual(['positive', 'positive', 'positive', 'positive']);
    const ledger = await database().query<{ device: string; rows: number; state: string }>(
      `select l.device, count(p.id)::int as rows, min(p.state) as state
         from labels l left join points_ledger p on p.reference = 'label:' || l.id
        where l.project_id = $1 group by l.id, l.device`,
      [projectId],
    );
    expect(ledger).toHaveLength(12);
    expect(ledger.filter((row) => row.rows !== 1)).toEqual([]);
    for (const row of ledger) expect(row.state).toBe(row.device === first.address ? 'rejected' : 'verified');

    // Running it again (nothing new) pays nothing more and rewrites no aggregate.
    const before = await database().query(
      'select item_id, label, confidence, updated_at from aggregated_labels order by item_id',
    );
    await aggregateProject(database(), projectId, { settleWindowMs: 0 });
    expect(
      await database().query('select item_id, label, confidence, updated_at from aggregated_labels order by item_id'),
    ).toEqual(before);
    expect(
      (
        await database().query<{ n: number }>(
          `select count(*)::int as n from points_ledger p join labels l on p.reference = 'label:' || l.id
            where l.project_id = $1`,
          [projectId],
        )
      )[0]?.n,
    ).toBe(12);
  });
});
