import { labelKey } from '@protocol/label-rules';
import { type LabelValue, labelSchemaSchema, labelValueSchema, type ProjectAggregation } from '@protocol/labeling';
import { type AggregationMethod, aggregatedItems, aggregateEncoded } from '../aggregation/aggregate';
import { bradleyTerry } from '../aggregation/bradley-terry';
import { encodeLabels } from '../aggregation/encode-labels';
import { majorityVote } from '../aggregation/majority-vote';
import type { AggregatedItem, CategoricalLabel, PairwiseLabel } from '../aggregation/types';
import type { Database } from '../db/database';
import { type LabelPaymentSettings, payLabels } from './label-settlement';
import { goldRecordsOf, isInGoodStanding, reliability } from './labeler-quality';

interface LabelRow {
  id: string;
  device: string;
  item_id: string;
  value: string;
  is_gold: boolean;
  gold_correct: boolean | null;
  complete: boolean;
  shown_left: string | null;
  gold_answer: string | null;
}

/**
 * Each item's stored method (`aggregated_labels.method`, on the wire as ds | mv | bt) names the family:
 * one-coin and MACE are constrained Dawid-Skene models, Wawa a weighted vote. The project's progress
 * shows the exact method and priors.
 */
const itemMethod: Record<AggregationMethod, 'ds' | 'mv'> = {
  ds: 'ds',
  onecoin: 'ds',
  mace: 'ds',
  wawa: 'mv',
  mv: 'mv',
};

/**
 * Re-aggregates one project from all its usable labels: categorical answers by the library's `auto`
 * choice (aggregate.ts: MV, Wawa, Dawid-Skene priors, one-coin or MACE by held-out likelihood, on gold
 * when there is enough; gold items clamped to their answers), recorded on the project with its priors;
 * Bradley-Terry for pairwise preferences (ties as half wins), majority vote for span sets and as the
 * fallback when the choice cannot run. Labels of labelers below the gold
 * threshold are left out. Then, in the same transaction, the labels are paid as the README's label
 * payment rule says (label-settlement.ts): gold answers at once, the labels of complete items pending
 * until their aggregate has held still for the settle window. Safe to run again: nothing is paid twice.
 */
export async function aggregateProject(
  db: Database,
  projectId: string,
  settings: LabelPaymentSettings,
): Promise<{ method: string; items: number }> {
  const projects = await db.query<{ label_schema: string }>('select label_schema from projects where id = $1', [
    projectId,
  ]);
  const project = projects[0];
  if (!project) return { method: 'none', items: 0 };
  const schema = labelSchemaSchema.parse(JSON.parse(project.label_schema));
  const rows = await db.query<LabelRow>(
    `select l.id::text as id, l.device, l.item_id::text as item_id, l.value, l.is_gold, l.gold_correct, i.complete,
            l.shown_left, i.gold_answer
       from labels l join project_items i on i.id = l.item_id where l.project_id = $1`,
    [projectId],
  );
  const records = await goldRecordsOf(
    db,
    rows.map((row) => row.device),
  );
  const counting = rows.filter((row) => isInGoodStanding(records.get(row.device) ?? { answered: 0, correct: 0 }));
  const values = new Map(counting.map((row) => [row.id, labelValueSchema.parse(JSON.parse(row.value)) as LabelValue]));
  // Gold items take part with their answers clamped: they anchor each labeler's confusion matrix.
  const labels: CategoricalLabel[] = counting.map((row) => ({
    worker: row.device,
    item: row.item_id,
    label: labelKey(values.get(row.id) as LabelValue),
  }));
  const gold = new Map(
    counting
      .filter((row) => row.gold_answer !== null)
      .map((row) => [row.item_id, labelKey(labelValueSchema.parse(JSON.parse(row.gold_answer as string)))]),
  );

  let method = 'none';
  let items: AggregatedItem[] = [];
  let aggregation: ProjectAggregation | null = null;
  if (counting.some((row) => !row.is_gold)) {
    method = schema.type === 'spans' ? 'mv' : schema.type === 'pairwise' ? 'bt' : 'ds';
    const classes = schema.type === 'single_choice' ? schema.choices : undefined;
    if (method === 'bt') {
      items = bradleyTerry(
        pairwiseLabels(
          counting.filter((row) => !row.is_gold),
          values,
        ),
      ).items.map((item) => ({
        item: item.item,
        label: item.preferred,
        confidence: item.confidence,
        posterior: { a: item.shareA, b: 1 - item.shareA },
        labels: item.votes,
        tied: item.preferred === 'tie',
      }));
      aggregation = { method: 'bt', parameters: {}, selectedBy: 'named' };
    } else if (method === 'ds') {
      try {
        const encoded = encodeLabels(labels, { classes, gold });
        const result = aggregateEncoded(encoded);
        method = itemMethod[result.method];
        items = aggregatedItems(encoded, result);
        aggregation = { method: result.method, parameters: result.parameters, selectedBy: result.selectedBy };
      } catch {
        method = 'mv';
        items = majorityVote(labels, classes ? { classes } : {}).items;
        aggregation = { method: 'mv', parameters: {}, selectedBy: 'named' };
      }
    } else {
      items = majorityVote(labels).items;
      aggregation = { method: 'mv', parameters: {}, selectedBy: 'named' };
    }
    // In item id order: inserting a new aggregate key-share locks its item, and uploads lock items in id order.
    items = items.filter((item) => !gold.has(item.item)).sort((a, b) => Number(a.item) - Number(b.item));
  }

  await db.transaction(async (tx) => {
    if (aggregation) {
      await tx.query(
        'update projects set aggregation = $2::jsonb where id = $1 and aggregation is distinct from $2::jsonb',
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
      labels: counting.map((row) => ({
        id: row.id,
        device: row.device,
        itemId: row.item_id,
        isGold: row.is_gold,
        goldCorrect: row.gold_correct === true,
        complete: row.complete,
        reliability: reliability(records.get(row.device) ?? { answered: 0, correct: 0 }),
      })),
      aggregated: new Set([...before.keys(), ...items.map((item) => item.item)]),
      changed,
    });
  });
  return { method, items: items.length };
}

/** Pairwise labels in the form Bradley-Terry takes: each item's two answers are its own. */
function pairwiseLabels(rows: readonly LabelRow[], values: ReadonlyMap<string, LabelValue>): PairwiseLabel[] {
  return rows.flatMap((row) => {
    const value = values.get(row.id);
    if (value?.type !== 'pairwise' || (row.shown_left !== 'a' && row.shown_left !== 'b')) return [];
    return [
      {
        worker: row.device,
        item: row.item_id,
        a: `${row.item_id}:a`,
        b: `${row.item_id}:b`,
        preferred: value.preferred,
        shownLeft: row.shown_left,
      },
    ];
  });
}
