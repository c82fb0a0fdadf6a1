import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LeasedTask } from '@protocol/labeling';
import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem/accounts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../db/database';
import { migrate } from '../db/migrate';
import { openPostgresDatabase } from '../db/postgres-database';
import { buildTestApp, signedInject } from '../test/app';
import { createTestSchema, describeEachDatabase, describePostgres, postgresTestUrl } from '../test/databases';
import { createBuyerKey, registerDevice, upload } from '../test/scrape-fixtures';
import { enqueueAggregation } from './background-work';
import { labelPoints } from './points-rules';

const sentiment = { type: 'single_choice', choices: ['positive', 'negative', 'neutral'] };

/** The right answer for an item whose text ends in a number: even positive, odd negative. */
const truth = (text: string) => (Number(/(\d+)$/.exec(text)?.[1]) % 2 === 0 ? 'positive' : 'negative');

async function createProject(app: FastifyInstance, apiKey: string, body: Record<string, unknown>): Promise<string> {
  const response = await app.inject({
    method: 'POST',
    url: '/v1/projects',
    headers: { authorization: `Bearer ${apiKey}` },
    payload: { name: 'p', instructions: 'Label the sentiment.', labelSchema: sentiment, ...body },
  });
  if (response.statusCode !== 201) throw new Error(`project not created: ${response.body}`);
  return (response.json() as { project: { id: string } }).project.id;
}

const workItems = (count: number, prefix = 'w') =>
  Array.from({ length: count }, (_, i) => ({ id: `${prefix}${i}`, content: { type: 'text', text: `review ${i}` } }));

/** Uploads a labeler's answers to leased tasks in one batch; `choose` picks each from the item's text. */
async function answer(
  app: FastifyInstance,
  labeler: LocalAccount,
  tasks: readonly LeasedTask[],
  choose: (text: string) => string = truth,
): Promise<void> {
  await upload(
    app,
    labeler,
    tasks.map((task) => ({
      kind: 'label',
      assignmentId: task.assignmentId,
      labeledAt: new Date().toISOString(),
      answer: { type: 'single_choice', choice: choose(task.content.type === 'text' ? task.content.text : '') },
    })),
    randomUUID(),
  );
}

/**
 * Has a labeler lease and answer tasks until none are left (or, given `expected`, until it answered that
 * many); `choose` picks the answer from the text. Leases go through `leaseApp`, uploads through
 * `uploadApp` (two server processes in one test).
 */
async function labelAll(
  leaseApp: FastifyInstance,
  uploadApp: FastifyInstance,
  labeler: LocalAccount,
  options: { choose?: (text: string) => string; expected?: number } = {},
): Promise<void> {
  const choose = options.choose ?? truth;
  let answered = 0;
  for (let round = 0; round < 200; round += 1) {
    const response = await signedInject(leaseApp, labeler, {
      method: 'POST',
      url: '/v1/tasks/lease',
      body: { max: 5 },
    });
    const tasks = (response.json() as { tasks: LeasedTask[] }).tasks;
    if (tasks.length === 0) {
      if (options.expected === undefined) return;
      // Items that other labelers' uploads hold locked are skipped by a lease: ask again shortly.
      await sleep(20);
      continue;
    }
    await answer(uploadApp, labeler, tasks, choose);
    answered += tasks.length;
    if (answered === options.expected) return;
  }
  throw new Error(`the labeler answered ${answered} tasks, not ${options.expected ?? 'all'}`);
}

interface LedgerOfLabel {
  label_id: string;
  text: string;
  device: string;
  is_gold: boolean;
  rows: number;
  state: string | null;
  points: number | null;
  rejection_reason: string | null;
}

/** Every label of a project with how many ledger rows it has, and the state of its row. */
const ledgerOfLabels = (db: Database, projectId: string) =>
  db.query<LedgerOfLabel>(
    `select l.id::text as label_id, i.content as text, l.device, l.is_gold, count(p.id)::int as rows,
            min(p.state) as state, min(p.points)::int as points, min(p.rejection_reason) as rejection_reason
       from labels l join project_items i on i.id = l.item_id
       left join points_ledger p on p.reference = 'label:' || l.id
      where l.project_id = $1 group by l.id, i.content, l.device, l.is_gold order by l.id`,
    [projectId],
  );

describeEachDatabase('label payment through the durable work queue', (database) => {
  let apiKey: string;
  let setupApp: FastifyInstance;
  beforeAll(async () => {
    setupApp = await buildTestApp(database(), {}, { work: { concurrency: 0 } });
    apiKey = await createBuyerKey(setupApp);
  });
  afterAll(async () => {
    await setupApp.close();
  });
  const retireOtherProjects = () => database().query('update project_items set complete = true');

  it('pays labels queued before a restart exactly once, after the restart', async () => {
    await retireOtherProjects();
    // A server whose worker never runs: it stops with the aggregation still queued.
    const before = await buildTestApp(
      database(),
      {},
      { work: { concurrency: 0, labelSettleMs: 0, aggregationIntervalMs: 0 } },
    );
    const projectId = await createProject(before, apiKey, { overlap: 3, goldRate: 0, items: workItems(4) });
    const labelers = [await registerDevice(before), await registerDevice(before), await registerDevice(before)];
    for (const labeler of labelers) await labelAll(before, before, labeler);
    await before.close();
    const queued = await database().query<{ state: string }>(
      `select state from work_items where kind = 'aggregate_project' and key = $1`,
      [projectId],
    );
    expect(queued.map((row) => row.state)).toEqual(['queued']);
    expect((await ledgerOfLabels(database(), projectId)).every((label) => label.rows === 0)).toBe(true);

    const after = await buildTestApp(database(), {}, { work: { labelSettleMs: 0, aggregationIntervalMs: 0 } });
    await after.workQueue.drain();
    await after.close();
    const paid = await ledgerOfLabels(database(), projectId);
    expect(paid).toHaveLength(12);
    expect(paid.every((label) => label.rows === 1 && label.state === 'verified')).toBe(true);
    expect(paid.every((label) => label.points === labelPoints(0.75))).toBe(true);

    // Another restart, and running the work again, pay nothing more.
    const again = await buildTestApp(database(), {}, { work: { labelSettleMs: 0, aggregationIntervalMs: 0 } });
    again.workQueue.enqueueInBackground((tx) => enqueueAggregation(tx, [projectId]));
    await again.workQueue.drain();
    await again.close();
    expect(await ledgerOfLabels(database(), projectId)).toEqual(paid);
  });

  it('pays the labels a cancelled project’s unfinished items have, and the ones for tasks out when it was cancelled', async () => {
    await retireOtherProjects();
    const app = await buildTestApp(database(), {}, { work: { labelSettleMs: 0, aggregationIntervalMs: 0 } });
    try {
      const projectId = await createProject(app, apiKey, { overlap: 3, goldRate: 0, items: workItems(2, 'c') });
      const [first, second, late] = [await registerDevice(app), await registerDevice(app), await registerDevice(app)];
      if (!first || !second || !late) throw new Error('labelers not registered');
      // Two of three labels each: no item is complete.
      await labelAll(app, app, first);
      await labelAll(app, app, second);
      // The third labeler holds one task: one item will end with three labels, the other with two.
      const leased = await signedInject(app, late, { method: 'POST', url: '/v1/tasks/lease', body: { max: 1 } });
      const tasks = (leased.json() as { tasks: LeasedTask[] }).tasks;
      expect(tasks).toHaveLength(1);
      await app.workQueue.drain();
      expect((await ledgerOfLabels(database(), projectId)).every((label) => label.rows === 0)).toBe(true);

      const cancelled = await app.inject({
        method: 'POST',
        url: `/v1/projects/${projectId}/cancel`,
        headers: { authorization: `Bearer ${apiKey}` },
      });
      expect(cancelled.statusCode, cancelled.body).toBe(200);
      // The tasks that were out are still answered, after the cancel.
      await answer(app, late, tasks);
      await app.workQueue.drain();
      const paid = await ledgerOfLabels(database(), projectId);
      expect(paid).toHaveLength(5);
      expect(paid.map((label) => [label.rows, label.state])).toEqual(paid.map(() => [1, 'verified']));
    } finally {
      await app.close();
    }
  });

  it('settles labels once their aggregate held still for the window, gold answers at once', async () => {
    await retireOtherProjects();
    const app = await buildTestApp(database(), {}, { work: { labelSettleMs: 3_600_000, aggregationIntervalMs: 0 } });
    try {
      const projectId = await createProject(app, apiKey, {
        overlap: 3,
        goldRate: 0.4,
        items: [
          ...workItems(2),
          { id: 'g0', content: { type: 'text', text: 'check 0' }, gold: { type: 'single_choice', choice: 'positive' } },
          { id: 'g1', content: { type: 'text', text: 'check 1' }, gold: { type: 'single_choice', choice: 'negative' } },
        ],
      });
      const [honest1, honest2, contrarian] = [
        await registerDevice(app),
        await registerDevice(app),
        await registerDevice(app),
      ];
      if (!honest1 || !honest2 || !contrarian) throw new Error('labelers not registered');
      await labelAll(app, app, honest1);
      await labelAll(app, app, honest2);
      // Right on gold, wrong on review 0.
      await labelAll(app, app, contrarian, { choose: (text) => (text === 'review 0' ? 'neutral' : truth(text)) });
      await app.workQueue.drain();

      let labels = await ledgerOfLabels(database(), projectId);
      const gold = labels.filter((label) => label.is_gold);
      expect(gold.length).toBeGreaterThan(0);
      expect(gold.every((label) => label.rows === 1 && label.state === 'verified')).toBe(true);
      const work = labels.filter((label) => !label.is_gold);
      expect(work).toHaveLength(6);
      expect(work.every((label) => label.rows === 1 && label.state === 'pending')).toBe(true);
      const settle = await database().query<{ run_in_s: number }>(
        `select extract(epoch from run_at - now())::int as run_in_s from work_items
          where kind = 'settle_labels' and key = $1 and state = 'queued'`,
        [projectId],
      );
      expect(settle[0]?.run_in_s).toBeGreaterThan(3500);

      // The window passes for every label, but a re-aggregation changes review 0's label just before
      // settlement (its stored aggregate had been another): its labels wait one more window.
      await database().query(
        `update label_settlements set due_at = now() - interval '1 second' where project_id = $1`,
        [projectId],
      );
      await database().query(
        `update aggregated_labels set label = 'neutral'
          where item_id = (select id from project_items where project_id = $1 and external_id = 'w0')`,
        [projectId],
      );
      app.workQueue.enqueueInBackground((tx) => enqueueAggregation(tx, [projectId]));
      await app.workQueue.drain();
      labels = await ledgerOfLabels(database(), projectId);
      const stateOf = (text: string) =>
        labels
          .filter((label) => label.text.includes(`"${text}"`))
          .map((label) => label.state)
          .sort();
      expect(stateOf('review 1')).toEqual(['verified', 'verified', 'verified']);
      expect(stateOf('review 0')).toEqual(['pending', 'pending', 'pending']);

      await database().query(
        `update label_settlements set due_at = now() - interval '1 second' where project_id = $1`,
        [projectId],
      );
      await database().query(
        `update work_items set run_at = now() where kind = 'settle_labels' and key = $1 and state = 'queued'`,
        [projectId],
      );
      app.workQueue.kick();
      await app.workQueue.drain();
      labels = await ledgerOfLabels(database(), projectId);
      expect(stateOf('review 0')).toEqual(['rejected', 'verified', 'verified']);
      const rejected = labels.find((label) => label.state === 'rejected' && !label.is_gold);
      expect(rejected?.device).toBe(contrarian.address);
      expect(rejected?.rejection_reason).toBe('your label differs from the label the item was given');
      const left = await database().query('select 1 from label_settlements where project_id = $1', [projectId]);
      expect(left).toHaveLength(0);
    } finally {
      await app.close();
    }
  });
});

describePostgres('label payment with two server processes on one PostgreSQL database', () => {
  let schema: { schema: string; drop: () => Promise<void> };
  let databases: Database[] = [];
  let apps: FastifyInstance[] = [];
  beforeAll(async () => {
    schema = await createTestSchema();
    databases = [
      await openPostgresDatabase(postgresTestUrl, { schema: schema.schema, maxConnections: 4 }),
      await openPostgresDatabase(postgresTestUrl, { schema: schema.schema, maxConnections: 4 }),
    ];
    await migrate(databases[0] as Database);
    apps = await Promise.all(
      databases.map((db) =>
        buildTestApp(db, {}, { work: { labelSettleMs: 0, aggregationIntervalMs: 0, pollMs: 20, concurrency: 3 } }),
      ),
    );
  });
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    await Promise.all(databases.map((db) => db.close()));
    await schema?.drop();
  });

  it('never pays a label twice while both workers aggregate and settle', async () => {
    const [a, b] = apps as [FastifyInstance, FastifyInstance];
    const db = databases[0] as Database;
    const apiKey = await createBuyerKey(a);
    const projects: string[] = [];
    for (let n = 0; n < 8; n += 1)
      projects.push(await createProject(n % 2 ? b : a, apiKey, { overlap: 3, goldRate: 0, items: workItems(4) }));
    const labelers = [await registerDevice(a), await registerDevice(b), await registerDevice(a)];
    // Each labeler leases from one process and uploads to the other, all three at once.
    await Promise.all(
      labelers.map((labeler, i) => labelAll(i % 2 ? a : b, i % 2 ? b : a, labeler, { expected: 8 * 4 })),
    );
    for (;;) {
      await Promise.all([a.workQueue.drain(), b.workQueue.drain()]);
      const open = await db.query<{ n: number }>(
        `select count(*)::int as n from work_items where state in ('queued', 'running') and run_at <= now()`,
      );
      if (open[0]?.n === 0) break;
      await sleep(20);
    }

    const labels = (await Promise.all(projects.map((projectId) => ledgerOfLabels(db, projectId)))).flat();
    expect(labels).toHaveLength(8 * 4 * 3);
    expect(labels.filter((label) => label.rows !== 1)).toEqual([]);
    expect(labels.every((label) => label.state === 'verified')).toBe(true);
    const work = await db.query<{ state: string; locked_by: string }>('select state, locked_by from work_items');
    expect(work.filter((item) => item.state !== 'done')).toEqual([]);
    // Both processes took part.
    expect(new Set(work.map((item) => item.locked_by)).size).toBeGreaterThanOrEqual(2);
  });
});
