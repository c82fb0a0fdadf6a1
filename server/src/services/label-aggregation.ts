import { labelSchemaSchema } from '@protocol/labeling';
import type { Database } from '../db/database';
import { type AggregationPool, sharedAggregationPool } from './label-aggregation-pool';
import { fittedItems, type LabelFit, LabelFitInputBuilder, type LabelFitRow } from './label-aggregation-worker';
import { type LabelPaymentSettings, labelReference, type PayableLabel, payLabels } from './label-settlement';
import { type GoldRecord, goldRecordsOf, isInGoodStanding, reliability } from './labeler-quality';

interface LabelRow extends LabelFitRow {
  id: string;
  gold_correct: boolean | null;
  complete: boolean;
  /** The label already has its ledger row: nothing left to pay. */
  credited: boolean;
}

/** Labels read per statement: each chunk is a short query and a short loop, whatever the project's size. */
const chunkLabels = 20_000;

/**
 * A project's labels in item then label order (so the same labels always give the same fit: the held-out
 * folds follow that order), all of an item's together, about `chunkLabels` at a time: a project of
 * a million labels is read in fifty short steps, with the event loop free between them, instead of one
 * result whose rows and the loops over them held the loop for seconds.
 */
async function* projectLabels(db: Database, projectId: string): AsyncGenerator<LabelRow[]> {
  let after = '0';
  for (;;) {
    // The chunk's last item first, in its own statement: with both bounds known the planner sizes the read
    // right (a bound computed inside one statement was planned as a third of the project, and JIT-compiled).
    const [bound] = await db.query<{ last: string | null }>(
      `select max(item_id)::text as last
         from (select item_id from labels where project_id = $1 and item_id > $2::bigint
                order by item_id limit $3) as chunk`,
      [projectId, after, chunkLabels],
    );
    const last = bound?.last;
    if (!last) return;
    yield await db.query<LabelRow>(
      `select l.id::text as id, l.device, l.item_id::text as item_id, l.value, l.is_gold, l.gold_correct,
              i.complete, l.shown_left, i.gold_answer,
              exists (select 1 from points_ledger p where p.reference = $4 || l.id::text) as credited
         from labels l join project_items i on i.id = l.item_id
        where l.project_id = $1 and l.item_id > $2::bigint and l.item_id <= $3::bigint
        order by l.item_id, l.id`,
      [projectId, after, last, labelReference('')],
    );
    after = last;
  }
}

/**
 * Re-aggregates one project from all its usable labels: categorical answers by the library's `auto`
 * choice (aggregate.ts: MV, Wawa, Dawid-Skene priors, one-coin or MACE by held-out likelihood, on gold
 * when there is enough; gold items clamped to their answers), recorded on the project with its priors;
 * Bradley-Terry for pairwise preferences (ties as half wins), majority vote for span sets and as the
 * fallback when the choice cannot run. Labels of labelers below the gold
 * threshold are left out. Then, in the same transaction, the labels are paid as the README's label
 * payment rule says (label-settlement.ts): gold answers at once, the labels of complete items pending
 * until their aggregate has held still for the settle window. Safe to run again: nothing is paid twice.
 *
 * The reads and the writes run here; the fit runs in `pool`'s thread (label-aggregation-worker.ts), so a big
 * project never stalls the event loop. When the thread fails (deadline, crash, heap) this throws, saying why,
 * and writes nothing.
 */
export async function aggregateProject(
  db: Database,
  projectId: string,
  settings: LabelPaymentSettings,
  pool: AggregationPool = sharedAggregationPool(),
): Promise<{ method: string; items: number }> {
  const projects = await db.query<{ label_schema: string; state: string }>(
    'select label_schema, state from projects where id = $1',
    [projectId],
  );
  const project = projects[0];
  if (!project) return { method: 'none', items: 0 };
  // A cancelled project's items get no more labels: each is as complete as it will ever be, and is paid so.
  const cancelled = project.state === 'cancelled';
  const schema = labelSchemaSchema.parse(JSON.parse(project.label_schema));
  // Only what the fit needs (columns) and what is left to pay is kept across chunks.
  const counting = new LabelFitInputBuilder();
  let countingAnswers = 0;
  const unpaid: PayableLabel[] = [];
  const records = new Map<string, GoldRecord>();
  for await (const rows of projectLabels(db, projectId)) {
    const newcomers = [...new Set(rows.map((row) => row.device))].filter((device) => !records.has(device));
    if (newcomers.length > 0)
      for (const [device, record] of await goldRecordsOf(db, newcomers)) records.set(device, record);
    for (const row of rows) {
      const record = records.get(row.device) ?? { answered: 0, correct: 0 };
      // Labels of labelers below the gold threshold neither count nor earn.
      if (!isInGoodStanding(record)) continue;
      counting.add(row);
      if (!row.is_gold) countingAnswers += 1;
      const complete = row.complete || cancelled;
      if (row.credited || !(row.is_gold || complete)) continue;
      unpaid.push({
        id: row.id,
        device: row.device,
        itemId: row.item_id,
        isGold: row.is_gold,
        goldCorrect: row.gold_correct === true,
        complete,
        reliability: reliability(record),
      });
    }
  }

  let method = 'none';
  let items: Array<{ item: string; label: string; confidence: number }> = [];
  let aggregation: LabelFit['aggregation'] | null = null;
  if (countingAnswers > 0) {
    const input = counting.build(schema);
    const fit = await pool.fit(input);
    method = fit.method;
    aggregation = fit.aggregation;
    items = fittedItems(input, fit);
  }

  await db.transaction(async (tx) => {
    if (aggregation) {
      await tx.query(
        // ::text first: the postgres driver sends a parameter cast straight to jsonb as a JSON string literal.
        'update projects set aggregation = $2::text::jsonb where id = $1 and aggregation is distinct from $2::text::jsonb',
        [projectId, JSON.stringify(aggregation)],
      );
    }
    const before = new Map(
      (
        await tx.query<{ item_id: string; label: string; confidence: number; method: string }>(
          'select item_id::text as item_id, label, confidence, method from aggregated_labels where project_id = $1',
          [projectId],
        )
      ).map((row) => [row.item_id, row]),
    );
    // Only the aggregates that moved are written: a project whose labels mostly agree rewrites few rows.
    const moved = items.filter((item) => {
      const stored = before.get(item.item);
      return (
        stored === undefined ||
        stored.label !== item.label ||
        Number(stored.confidence) !== item.confidence ||
        stored.method !== method
      );
    });
    if (moved.length > 0) {
      await tx.query(
        `insert into aggregated_labels (item_id, project_id, label, confidence, method)
         select t.item_id, $1, t.label, t.confidence, $2
           from unnest($3::text[]::bigint[], $4::text[], $5::text[]::float8[]) as t(item_id, label, confidence)
         on conflict (item_id) do update set label = excluded.label, confidence = excluded.confidence,
           method = excluded.method, updated_at = now()`,
        [
          projectId,
          method,
          moved.map((item) => item.item),
          moved.map((item) => item.label),
          moved.map((item) => String(item.confidence)),
        ],
      );
    }
    const changed = items.filter((item) => before.get(item.item)?.label !== item.label).map((item) => item.item);
    await payLabels(tx, projectId, settings, {
      // Labels already in the ledger are left out here; payLabels checks the rest again in this transaction.
      labels: unpaid,
      aggregated: new Set([...before.keys(), ...items.map((item) => item.item)]),
      changed,
    });
  });
  return { method, items: items.length };
}
