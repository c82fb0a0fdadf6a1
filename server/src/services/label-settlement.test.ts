import { labelKey } from '@protocol/label-rules';
import { labelValueSchema } from '@protocol/labeling';
import { expect, it } from 'vitest';
import { seededRandom, syntheticCrowd } from '../aggregation/synthetic-crowd';
import type { Database } from '../db/database';
import { describeEachDatabase } from '../test/databases';
import { seedLabeledProject } from '../test/labeled-project';
import { aggregateProject } from './label-aggregation';
import { closeAggregationPool } from './label-aggregation-pool';
import { labelReference, type PayableLabel, payLabels, settleLabels } from './label-settlement';
import { labelPoints } from './points-rules';

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

describeEachDatabase('paying a first aggregation’s labels a batch at a time', (database) => {
  it('pays more labels than a batch, given in any order: one ledger row each, written in item order, and a label paid before is not paid again', async () => {
    const db = database();
    // 7,001 items × 3: three batches of 10,000, the last one short.
    const crowd = syntheticCrowd({ seed: 21, items: 7_001, workers: 40, classes: 3, labelsPerItem: 3 });
    const projectId = await seedLabeledProject(db, crowd, { overlap: 3, complete: true });
    const rows = await db.query<{ id: string; device: string; item_id: string }>(
      'select id::text as id, device, item_id::text as item_id from labels where project_id = $1',
      [projectId],
    );
    const random = seededRandom(7);
    const labels: PayableLabel[] = rows.map((row, n) => ({
      id: row.id,
      device: row.device,
      itemId: row.item_id,
      // Every 97th label answers a check question, right or wrong by turns.
      isGold: n % 97 === 0,
      goldCorrect: n % 194 === 0,
      complete: true,
      reliability: 0.9,
    }));
    // Shuffled: the order aggregation gives is not the only one payLabels may meet.
    for (let n = labels.length - 1; n > 0; n -= 1) {
      const other = Math.floor(random() * (n + 1));
      [labels[n], labels[other]] = [labels[other] as PayableLabel, labels[n] as PayableLabel];
    }
    // Every 10th label was paid before (a row of 1 point), spread over every batch.
    const paidBefore = new Set(rows.filter((_, n) => n % 10 === 5).map((row) => row.id));
    await db.query(
      `insert into points_ledger (device, reference, reason, points, state)
       select l.device, $2 || l.id, 'label', 1, 'pending' from labels l where l.id = any($1::text[]::bigint[])`,
      [[...paidBefore], labelReference('')],
    );
    // The last item has no aggregate yet: its labels (not gold) wait.
    const lastItem = rows.reduce((a, b) => (Number(b.item_id) > Number(a.item_id) ? b : a)).item_id;
    const aggregated = new Set(rows.map((row) => row.item_id).filter((item) => item !== lastItem));

    await db.transaction((tx) =>
      payLabels(tx, projectId, { settleWindowMs: 60_000 }, { labels, aggregated, changed: [] }),
    );

    const settlements = await db.query<{ label_id: string; item_matches: boolean; due_in_ms: number }>(
      `select s.label_id::text as label_id, s.item_id = l.item_id as item_matches,
              extract(epoch from s.due_at - now()) * 1000 as due_in_ms
         from label_settlements s join labels l on l.id = s.label_id where s.project_id = $1`,
      [projectId],
    );
    // Each waits on its own label's item (settlement judges it against that item's aggregate), a window from now.
    for (const row of settlements) {
      expect(row, `settlement of label ${row.label_id}`).toMatchObject({ item_matches: true });
      expect(Number(row.due_in_ms)).toBeGreaterThan(30_000);
      expect(Number(row.due_in_ms)).toBeLessThanOrEqual(60_000);
    }
    const waiting = new Set(settlements.map((row) => labelReference(row.label_id)));
    const ledger = (
      await db.query<{ reference: string; points: string; state: string }>(
        `select p.reference, p.points::text as points, p.state from points_ledger p
          where p.reason in ('label', 'label_gold') and p.device = any($1::text[]) order by p.id`,
        [[...new Set(rows.map((row) => row.device))]],
      )
    ).map((row) => ({ ...row, settlement: waiting.has(row.reference) }));
    const byReference = new Map(ledger.map((row) => [row.reference, row]));
    const newRows: string[] = [];
    for (const label of labels) {
      const row = byReference.get(labelReference(label.id));
      const waits = label.itemId === lastItem && !label.isGold;
      if (waits && !paidBefore.has(label.id)) {
        expect(row, `label ${label.id} of an item without an aggregate`).toBeUndefined();
        continue;
      }
      expect(row, `label ${label.id}`).toBeDefined();
      if (paidBefore.has(label.id)) {
        expect(row).toMatchObject({ points: '1', state: 'pending', settlement: false });
        continue;
      }
      newRows.push(label.id);
      if (label.isGold) {
        expect(row).toMatchObject({ state: label.goldCorrect ? 'verified' : 'rejected', settlement: false });
      } else {
        expect(row).toMatchObject({ points: String(labelPoints(0.9)), state: 'pending', settlement: true });
      }
    }
    expect(ledger).toHaveLength(newRows.length + paidBefore.size);
    // The new rows went in in item then label order, the order uploads lock items in.
    const itemOf = new Map(rows.map((row) => [row.id, Number(row.item_id)]));
    const written = ledger
      .map((row) => row.reference.slice(labelReference('').length))
      .filter((id) => !paidBefore.has(id));
    const inItemOrder = [...written].sort(
      (a, b) => (itemOf.get(a) as number) - (itemOf.get(b) as number) || Number(a) - Number(b),
    );
    expect(written).toEqual(inItemOrder);
  }, 60_000);
});
