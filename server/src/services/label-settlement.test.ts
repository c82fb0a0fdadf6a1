import { labelKey } from '@protocol/label-rules';
import { labelValueSchema } from '@protocol/labeling';
import { expect, it } from 'vitest';
import { syntheticCrowd } from '../aggregation/synthetic-crowd';
import type { Database } from '../db/database';
import { describeEachDatabase } from '../test/databases';
import { seedLabeledProject } from '../test/labeled-project';
import { aggregateProject } from './label-aggregation';
import { closeAggregationPool } from './label-aggregation-pool';
import { labelReference, settleLabels } from './label-settlement';

/** `crowd`'s labels as a complete project, aggregated once: each label paid pending, due `windowMs` later. */
async function paidProject(db: Database, crowd: ReturnType<typeof syntheticCrowd>, windowMs: number): Promise<string> {
  const projectId = await seedLabeledProject(db, crowd, { overlap: 3, complete: true });
  try {
    await aggregateProject(db, projectId, { settleWindowMs: windowMs });
  } finally {
    await closeAggregationPool();
  }
  return projectId;
}

interface SettledLabel {
  label_id: string;
  device: string;
  value: string;
  aggregate: string | null;
  state: string;
  rejection_reason: string | null;
}

/** Every label of the project in id order, with its item's aggregate and its ledger row's state. */
const settledLabelsOf = (db: Database, projectId: string) =>
  db.query<SettledLabel>(
    `select l.id::text as label_id, l.device, l.value, a.label as aggregate, p.state, p.rejection_reason
       from labels l join points_ledger p on p.reference = $2 || l.id
       left join aggregated_labels a on a.item_id = l.item_id
      where l.project_id = $1 order by l.id`,
    [projectId, labelReference('')],
  );

describeEachDatabase('settling due labels a chunk at a time', (database) => {
  it('settles every due label as one pass would, leaves the ones without an aggregate due, and a rerun changes nothing', async () => {
    const db = database();
    const crowd = syntheticCrowd({ seed: 11, items: 40, workers: 8, classes: 3, labelsPerItem: 3, spammers: 0.25 });
    const projectId = await paidProject(db, crowd, 3_600_000);
    // Labeler w0 has since failed three check questions (in another project): below standing at settlement.
    const checks = syntheticCrowd({ seed: 12, items: 3, workers: 1, classes: 3, labelsPerItem: 1 });
    const checkProject = await seedLabeledProject(db, checks, { overlap: 1, complete: true });
    await db.query('update labels set is_gold = true, gold_correct = false where project_id = $1', [checkProject]);
    const belowStanding = `0x${'0'.repeat(40)}`;
    // The first items' aggregates are gone (as if being rewritten): their labels have nothing to settle against yet.
    await db.query(
      `delete from aggregated_labels where item_id in
         (select id from project_items where project_id = $1 order by id limit 4)`,
      [projectId],
    );
    await db.query(`update label_settlements set due_at = now() - interval '1 second' where project_id = $1`, [
      projectId,
    ]);

    // Chunks of 7: chunk edges fall inside items, and the unsettleable labels lead the first chunk.
    const result = await settleLabels(db, projectId, { chunk: 7 });

    const labels = await settledLabelsOf(db, projectId);
    expect(labels).toHaveLength(crowd.labels.length);
    const expected = (label: SettledLabel) => {
      if (label.aggregate === null) return { state: 'pending', rejection_reason: null };
      if (label.device === belowStanding) {
        return {
          state: 'rejected',
          rejection_reason: 'your accuracy on check questions fell below the 60% needed before this label was settled',
        };
      }
      return labelKey(labelValueSchema.parse(JSON.parse(label.value))) === label.aggregate
        ? { state: 'verified', rejection_reason: null }
        : { state: 'rejected', rejection_reason: 'your label differs from the label the item was given' };
    };
    expect(labels.map((label) => ({ state: label.state, rejection_reason: label.rejection_reason }))).toEqual(
      labels.map(expected),
    );
    const count = (state: string) => labels.filter((label) => label.state === state).length;
    // The crowd gives every outcome, so a chunk that mixed them up would show.
    expect(count('pending')).toBe(12);
    expect(labels.some((label) => label.device === belowStanding && label.state === 'rejected')).toBe(true);
    expect(labels.some((label) => label.device !== belowStanding && label.state === 'rejected')).toBe(true);
    expect(result).toEqual({ verified: count('verified'), rejected: count('rejected') });
    const left = await db.query<{ label_id: string }>(
      'select s.label_id::text as label_id from label_settlements s where s.project_id = $1 order by s.label_id',
      [projectId],
    );
    expect(left.map((row) => row.label_id)).toEqual(
      labels.filter((label) => label.aggregate === null).map((label) => label.label_id),
    );

    expect(await settleLabels(db, projectId, { chunk: 7 })).toEqual({ verified: 0, rejected: 0 });
    const again = await settledLabelsOf(db, projectId);
    expect(again).toEqual(labels);
  });
  it('schedules a label that comes due behind the cursor during the run, instead of stranding it', async () => {
    const db = database();
    const crowd = syntheticCrowd({ seed: 13, items: 10, workers: 5, classes: 2, labelsPerItem: 3 });
    const projectId = await paidProject(db, crowd, 3_600_000);
    const [first] = await db.query<{ label_id: string }>(
      'select min(label_id)::text as label_id from label_settlements where project_id = $1',
      [projectId],
    );
    const firstLabel = first?.label_id ?? '';
    // Every label due now but the first, whose window ends in an hour.
    await db.query(
      `update label_settlements set due_at = case when label_id = $2::bigint then now() + interval '1 hour'
                                                  else now() - interval '1 second' end
        where project_id = $1`,
      [projectId, firstLabel],
    );
    await db.query(`delete from work_items where kind = 'settle_labels' and key = $1`, [projectId]);
    let moved = false;
    await settleLabels(db, projectId, {
      chunk: 4,
      // While the run is past it, the first label comes due (its window ran out, as time does).
      afterChunk: async () => {
        if (moved) return;
        moved = true;
        await db.query('update label_settlements set due_at = clock_timestamp() where label_id = $1::bigint', [
          firstLabel,
        ]);
      },
    });
    const left = await db.query<{ label_id: string; due_at: Date }>(
      'select label_id::text as label_id, due_at from label_settlements where project_id = $1',
      [projectId],
    );
    expect(left.map((row) => row.label_id)).toEqual([firstLabel]);
    const queued = await db.query<{ run_at: Date }>(
      `select run_at from work_items where kind = 'settle_labels' and key = $1 and state = 'queued'`,
      [projectId],
    );
    // A settlement is queued for it, no later than it is due.
    expect(queued).toHaveLength(1);
    expect(queued[0]?.run_at.getTime()).toBeLessThanOrEqual(left[0]?.due_at.getTime() ?? 0);

    await settleLabels(db, projectId);
    const [settled] = await db.query<{ state: string }>('select state from points_ledger where reference = $1', [
      labelReference(firstLabel),
    ]);
    expect(settled?.state).not.toBe('pending');
  });
  it('stops between chunks when asked (shutdown), keeping what it settled and leaving the rest due', async () => {
    const db = database();
    const crowd = syntheticCrowd({ seed: 17, items: 6, workers: 4, classes: 2, labelsPerItem: 3 });
    const projectId = await paidProject(db, crowd, 0);
    const due = (await db.query('select 1 from label_settlements where project_id = $1', [projectId])).length;
    expect(due).toBeGreaterThan(10);
    let chunks = 0;
    const result = await settleLabels(db, projectId, {
      chunk: 5,
      afterChunk: async () => {
        chunks += 1;
      },
      stopping: () => chunks >= 2,
    });
    expect(result).toMatchObject({ stopped: true });
    expect(result.verified + result.rejected).toBe(10);
    const left = await db.query('select 1 from label_settlements where project_id = $1', [projectId]);
    expect(left).toHaveLength(due - 10);
    const rest = await settleLabels(db, projectId);
    expect(rest.verified + rest.rejected).toBe(due - 10);
    expect(rest.stopped).toBeUndefined();
  });
});
