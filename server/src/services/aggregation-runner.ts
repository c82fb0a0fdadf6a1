import { labelKey } from '@protocol/label-rules';
import { type LabelValue, labelSchemaSchema, labelValueSchema } from '@protocol/labeling';
import type { FastifyBaseLogger } from 'fastify';
import { bradleyTerry } from '../aggregation/bradley-terry';
import { dawidSkene } from '../aggregation/dawid-skene';
import { majorityVote } from '../aggregation/majority-vote';
import type { AggregatedItem, CategoricalLabel, PairwiseLabel } from '../aggregation/types';
import type { Database } from '../db/database';
import { ledgerRepository } from '../repositories/ledger-repository';
import { goldRecordOf, isInGoodStanding, reliability } from './labeler-quality';
import { labelPoints } from './points-rules';

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
 * Re-aggregates one project from all its usable labels: Dawid-Skene for categorical answers (gold
 * items clamped to their answers), Bradley-Terry for pairwise preferences (ties as half wins), majority
 * vote as the named fallback (span sets, or when DS cannot run). Labels of labelers below the gold threshold are left out. Complete items pay their labels once.
 */
export async function aggregateProject(db: Database, projectId: string): Promise<{ method: string; items: number }> {
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
  const devices = [...new Set(rows.map((row) => row.device))];
  const records = new Map(
    await Promise.all(devices.map(async (device) => [device, await goldRecordOf(db, device)] as const)),
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
  if (counting.every((row) => row.is_gold)) return { method: 'none', items: 0 };

  let method = schema.type === 'spans' ? 'mv' : schema.type === 'pairwise' ? 'bt' : 'ds';
  let items: AggregatedItem[] = [];
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
  } else if (method === 'ds') {
    try {
      items = dawidSkene(labels, { ...(classes ? { classes } : {}), gold }).items;
    } catch {
      method = 'mv';
      items = majorityVote(labels, classes ? { classes } : {}).items;
    }
  } else {
    items = majorityVote(labels).items;
  }
  items = items.filter((item) => !gold.has(item.item));

  const byItem = new Map(items.map((item) => [item.item, item]));
  await db.transaction(async (tx) => {
    for (const item of items) {
      await tx.query(
        `insert into aggregated_labels (item_id, project_id, label, confidence, method) values ($1, $2, $3, $4, $5)
         on conflict (item_id) do update set label = excluded.label, confidence = excluded.confidence,
           method = excluded.method, updated_at = now()`,
        [item.item, projectId, item.label, item.confidence, method],
      );
    }
    // Pay once per label, when its item is complete (k usable labels): agreement with the aggregate
    // times the labeler's reliability on gold. The ledger's unique reference makes a rerun pay nothing.
    const ledger = ledgerRepository(tx);
    for (const row of counting) {
      const record = records.get(row.device) ?? { answered: 0, correct: 0 };
      if (row.is_gold) {
        await ledger.credit({
          device: row.device,
          reference: `label:${row.id}`,
          reason: 'label_gold',
          points: row.gold_correct ? labelPoints(reliability(record)) : 0,
          state: row.gold_correct ? 'verified' : 'rejected',
          rejectionReason: row.gold_correct ? undefined : 'a check question: your answer differs from the known answer',
          url: null,
        });
        continue;
      }
      const aggregate = byItem.get(row.item_id);
      if (!row.complete || !aggregate) continue;
      const agrees = labelKey(values.get(row.id) as LabelValue) === aggregate.label;
      await ledger.credit({
        device: row.device,
        reference: `label:${row.id}`,
        reason: 'label',
        points: agrees ? labelPoints(reliability(record)) : 0,
        state: agrees ? 'verified' : 'rejected',
        rejectionReason: agrees ? undefined : 'your label differs from the label the item was given',
        url: null,
      });
    }
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

/**
 * Runs aggregation in the background as labels arrive, never inside an upload: each project at most
 * once at a time, and again once more if labels arrived meanwhile.
 */
export function aggregationRunner(db: Database, log: FastifyBaseLogger, delayMs = 250) {
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const drain = async () => {
    while (pending.size > 0) {
      const projectId = pending.values().next().value as string;
      pending.delete(projectId);
      try {
        await aggregateProject(db, projectId);
      } catch (err) {
        log.error({ err, projectId }, 'aggregation failed');
      }
    }
  };
  const start = () => {
    timer = undefined;
    if (running) return;
    running = drain().finally(() => {
      running = undefined;
      if (pending.size > 0) timer = setTimeout(start, delayMs);
    });
  };
  return {
    schedule(projectIds: readonly string[]) {
      for (const id of projectIds) pending.add(id);
      if (!timer && !running) timer = setTimeout(start, delayMs);
    },
    async close() {
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
