import { setTimeout as sleep } from 'node:timers/promises';
import { labelSchemaSchema } from '@protocol/labeling';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { syntheticCrowd } from '../aggregation/synthetic-crowd';
import type { Database, Queryable } from '../db/database';
import { enqueue } from '../queue/work-queue';
import { buildTestApp } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { seedLabeledProject } from '../test/labeled-project';
import { aggregateProjectKind } from './background-work';
import { aggregateProject } from './label-aggregation';
import { type AggregationPool, closeAggregationPool, createAggregationPool } from './label-aggregation-pool';
import { fitLabels, fittedItems, type LabelFitRow, labelFitInput } from './label-aggregation-worker';
import { labelReference } from './label-settlement';

/** Big enough that its fit takes seconds (8,000 items, 24,000 labels): as long as the fit, a stalled loop. */
const bigCrowd = syntheticCrowd({ seed: 21, items: 8_000, workers: 200, classes: 3, labelsPerItem: 3, spammers: 0.1 });
const smallCrowd = syntheticCrowd({ seed: 22, items: 20, workers: 5, classes: 3, labelsPerItem: 3 });
const settings = { settleWindowMs: 0 };

/** A project with `crowd`'s labels, its items still open. */
const seedProject = (db: Database, crowd: ReturnType<typeof syntheticCrowd>) =>
  seedLabeledProject(db, crowd, { overlap: 3, complete: false });

/** What a project's aggregation left in the database. */
const stored = async (db: Queryable, projectId: string) => {
  const [project] = await db.query<{ aggregation: string | null; kind: string | null; aggregates: number }>(
    `select aggregation::text as aggregation, jsonb_typeof(aggregation) as kind,
            (select count(*)::int from aggregated_labels where project_id = $1) as aggregates
       from projects where id = $1`,
    [projectId],
  );
  return project;
};

describeEachDatabase('label aggregation with its fit in a thread', (database) => {
  let big: string;
  let small: string;
  beforeAll(async () => {
    big = await seedProject(database(), bigCrowd);
    small = await seedProject(database(), smallCrowd);
  });
  afterAll(() => closeAggregationPool());

  it("fails a project's aggregation, saying why, when its thread overruns, writes nothing, and the next one works", async () => {
    const db = database();
    // The big fit takes seconds: far past this deadline, which the small one stays well within.
    const pool: AggregationPool = createAggregationPool({ size: 1, deadlineMs: 400, maxHeapMb: 512 });
    try {
      // First in this file, so `big` was never aggregated: anything the failed run wrote would show.
      await expect(aggregateProject(db, big, settings, pool)).rejects.toThrow('Aggregation took longer than 0.4 s.');
      expect(await stored(db, big)).toEqual({ aggregation: null, kind: null, aggregates: 0 });
      expect(await aggregateProject(db, small, settings, pool)).toMatchObject({ items: 20 });
      expect(await stored(db, small)).toMatchObject({ aggregates: 20 });
    } finally {
      await pool.close();
    }
  });

  it("keeps the event loop turning while a large project's labels are fitted", async () => {
    const db = database();
    // The same database, with each finished read and each started write put on a timeline beside the ticks.
    const timeline: string[] = [];
    const observed: Database = {
      kind: db.kind,
      async query<Row>(text: string, params?: readonly unknown[]) {
        const rows = await db.query<Row>(text, params);
        timeline.push('read');
        return rows;
      },
      transaction(fn) {
        timeline.push('write');
        return db.transaction(fn);
      },
      exec: (script) => db.exec(script),
      close: () => db.close(),
    };
    const ticker = setInterval(() => timeline.push('tick'), 5);
    try {
      expect(await aggregateProject(observed, big, settings)).toEqual({ method: 'ds', items: 8_000 });
    } finally {
      clearInterval(ticker);
    }
    // Between the last read and the write the labels were fitted: a timer must have run meanwhile.
    const write = timeline.indexOf('write');
    const fitting = timeline.slice(timeline.lastIndexOf('read', write) + 1, write);
    expect(fitting).toContain('tick');
    // An object, on both databases: SQL on the column (e.g. `aggregation->>'method'`) must read the same.
    expect(await stored(db, big)).toMatchObject({
      aggregates: 8_000,
      kind: 'object',
      aggregation: expect.stringContaining('onecoin'),
    });
  });

  it('reads a project larger than one read (24,000 labels, read 20,000 at a time) whole: every label counted once', async () => {
    const db = database();
    const [project] = await db.query<{ label_schema: string }>('select label_schema from projects where id = $1', [
      big,
    ]);
    const rows = await db.query<LabelFitRow>(
      `select l.device, l.item_id::text as item_id, l.value, l.is_gold, l.shown_left, i.gold_answer
         from labels l join project_items i on i.id = l.item_id where l.project_id = $1 order by l.item_id, l.id`,
      [big],
    );
    expect(rows).toHaveLength(24_000);
    const input = labelFitInput(labelSchemaSchema.parse(JSON.parse(project?.label_schema ?? '')), rows);
    const expected = fittedItems(input, fitLabels(input));
    await aggregateProject(db, big, settings);
    const aggregates = await db.query<{ item_id: string; label: string; confidence: number }>(
      'select item_id::text as item_id, label, confidence from aggregated_labels where project_id = $1',
      [big],
    );
    const byItem = new Map(aggregates.map((row) => [row.item_id, row]));
    expect(byItem.size).toBe(8_000);
    // Fitted on the very same labels in the same order, the chunked read gives the same labels and confidences.
    for (const item of expected) {
      expect(byItem.get(item.item)).toMatchObject({ label: item.label, confidence: item.confidence });
    }
  });

  it("pays a complete project's 24,000 unpaid labels once each, in batches, and nothing more on a second run", async () => {
    const db = database();
    const project = await seedLabeledProject(db, bigCrowd, { overlap: 3, complete: true });
    const paid = async () =>
      (
        await db.query<{ rows: number; references: number; pending: number; settlements: number }>(
          `select count(*)::int as rows, count(distinct p.reference)::int as references,
                  count(*) filter (where p.state = 'pending' and p.points > 0)::int as pending,
                  (select count(*)::int from label_settlements where project_id = $1) as settlements
             from points_ledger p join labels l on p.reference = $2 || l.id::text where l.project_id = $1`,
          [project, labelReference('')],
        )
      )[0];
    await aggregateProject(db, project, settings);
    const first = await paid();
    expect(first).toEqual({ rows: 24_000, references: 24_000, pending: 24_000, settlements: 24_000 });
    await aggregateProject(db, project, settings);
    expect(await paid()).toEqual(first);
  });

  it('fails a fit whose pool closes under it as "closed", which the background work queues again without counting', async () => {
    const pool: AggregationPool = createAggregationPool({ size: 1, deadlineMs: 60_000, maxHeapMb: 512 });
    // Its outcome is taken at once: the rejection may come while the pool is still closing.
    const outcome = aggregateProject(database(), big, settings, pool).then(
      () => 'finished',
      (error: unknown) => error,
    );
    await sleep(300);
    await pool.close();
    expect(await outcome).toMatchObject({ name: 'ThreadFailure', reason: 'closed' });
  });

  it('a shutdown during a fit leaves its project queued, its attempt given back, and fits it no more', async () => {
    const db = database();
    const project = await seedProject(db, bigCrowd);
    const app = await buildTestApp(db, {}, { work: { labelSettleMs: 0, aggregationIntervalMs: 0 } });
    try {
      await db.transaction((tx) => enqueue(tx, aggregateProjectKind, project, { projectId: project }));
      app.workQueue.kick();
      const item = async () =>
        (
          await db.query<{ state: string; attempts: number }>(
            'select state, attempts from work_items where kind = $1 and key = $2',
            [aggregateProjectKind, project],
          )
        )[0];
      await expect.poll(async () => (await item())?.state, { timeout: 10_000 }).toBe('running');
      await sleep(500);
    } finally {
      await app.close();
    }
    // Claimed straight back, or fitted on a fresh pool, it would be done, its aggregates written.
    expect(await stored(db, project)).toMatchObject({ aggregates: 0 });
    const [row] = await db.query<{ state: string; attempts: number; last_error: string }>(
      'select state, attempts, last_error from work_items where kind = $1 and key = $2',
      [aggregateProjectKind, project],
    );
    expect(row).toMatchObject({ state: 'queued', attempts: 0, last_error: expect.stringContaining('closed') });
    // 7 s alone; beside another heavy file in CI it ran past 30 s.
  }, 60_000);
});
