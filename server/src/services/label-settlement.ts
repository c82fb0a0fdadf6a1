import { labelKey } from '@protocol/label-rules';
import { goldPolicy, labelValueSchema } from '@protocol/labeling';
import type { Database, Queryable } from '../db/database';
import { enqueue } from '../queue/work-queue';
import { type Credit, ledgerRepository } from '../repositories/ledger-repository';
import { goldRecordsOf, isInGoodStanding } from './labeler-quality';
import { labelPoints } from './points-rules';

/**
 * Label payment, as the README's "Labeling projects" section states it: a label's ledger row is written
 * once its item is complete, pending; it is settled against the item's aggregate once that aggregate has
 * kept its label for the settle window, and never revisited after. Gold answers are settled at once.
 */

export interface LabelPaymentSettings {
  /** How long an item's aggregate must keep its label before the item's labels are settled against it. */
  settleWindowMs: number;
}

/** The work item kind that settles a project's due labels (key: the project id). */
export const settleLabelsKind = 'settle_labels';

/** A label as aggregation found it: counted (its labeler is in good standing), with what paying it needs. */
export interface PayableLabel {
  id: string;
  device: string;
  itemId: string;
  isGold: boolean;
  goldCorrect: boolean;
  /** Its item has all the usable labels it asked for. */
  complete: boolean;
  /** The labeler's reliability on gold now: sets what the label is worth. */
  reliability: number;
}

/** A label's ledger reference: `label:<id>` (an empty id gives the prefix, for SQL that builds it). */
export const labelReference = (labelId: string) => `label:${labelId}`;

/** Labels paid per statement pair (ledger rows, then settlement rows). */
const payBatch = 10_000;

function inItemOrder(labels: readonly PayableLabel[]): boolean {
  for (let n = 1; n < labels.length; n += 1) {
    const before = labels[n - 1] as PayableLabel;
    const label = labels[n] as PayableLabel;
    const item = Number(before.itemId) - Number(label.itemId);
    if (item > 0 || (item === 0 && Number(before.id) > Number(label.id))) return false;
  }
  return true;
}

/** A label's ledger row: a gold answer settled at once (verified if correct), any other label pending. */
function creditFor(label: PayableLabel): Credit {
  if (!label.isGold) {
    return {
      device: label.device,
      reference: labelReference(label.id),
      reason: 'label',
      points: labelPoints(label.reliability),
      state: 'pending',
      url: null,
    };
  }
  return {
    device: label.device,
    reference: labelReference(label.id),
    reason: 'label_gold',
    points: label.goldCorrect ? labelPoints(label.reliability) : 0,
    state: label.goldCorrect ? 'verified' : 'rejected',
    rejectionReason: label.goldCorrect ? undefined : 'a check question: your answer differs from the known answer',
    url: null,
  };
}

/**
 * Pays what an aggregation made payable, in its transaction: gold answers are settled at once (verified
 * if correct, rejected if not); each label of a complete item with an aggregate gets a pending row worth
 * `labelPoints(reliability)` and is due for settlement one window later; items whose aggregate label
 * changed (`changed`) have their unsettled labels' windows start again. Labels paid before are skipped.
 */
export async function payLabels(
  tx: Queryable,
  projectId: string,
  settings: LabelPaymentSettings,
  found: { labels: readonly PayableLabel[]; aggregated: ReadonlySet<string>; changed: readonly string[] },
): Promise<void> {
  const windowMs = Math.round(settings.settleWindowMs);
  if (found.changed.length > 0) {
    // In label id order, as settleLabels locks them, so the two never deadlock.
    await tx.query(
      `update label_settlements set due_at = now() + $2::int * interval '1 millisecond'
        where label_id in (select label_id from label_settlements where item_id = any($1::text[]::bigint[])
                            order by label_id for update)`,
      [found.changed, windowMs],
    );
  }
  const payable = found.labels.filter(
    (label) => label.isGold || (label.complete && found.aggregated.has(label.itemId)),
  );
  // In item then label order, the order aggregation reads labels in (so this sort is a check, not work):
  // uploads lock items in item order, and each settlement row written here key-share locks its item.
  if (!inItemOrder(payable)) payable.sort((a, b) => Number(a.itemId) - Number(b.itemId) || Number(a.id) - Number(b.id));
  const ledger = ledgerRepository(tx);
  // A batch per statement pair, so the event loop is free between them: a first aggregation can pay a
  // million labels, and building and sending their rows at once held the loop for over a second.
  for (let at = 0; at < payable.length; at += payBatch) {
    const batch = payable.slice(at, at + payBatch);
    // A label credited before keeps its row and is not counted again.
    const written = await ledger.creditMany(batch.map(creditFor));
    const waiting = batch.filter((label) => !label.isGold && written.has(labelReference(label.id)));
    if (waiting.length === 0) continue;
    await tx.query(
      `insert into label_settlements (label_id, project_id, item_id, due_at)
       select t.label_id, $1, t.item_id, now() + $2::int * interval '1 millisecond'
         from unnest($3::text[]::bigint[], $4::text[]::bigint[]) with ordinality as t(label_id, item_id, n)
        order by t.n
       on conflict (label_id) do nothing`,
      [projectId, windowMs, waiting.map((label) => label.id), waiting.map((label) => label.itemId)],
    );
  }
  await scheduleSettlement(tx, projectId, 'any');
}

interface DueRow {
  label_id: string;
  device: string;
  value: string;
  aggregate: string | null;
}

/**
 * Due labels settled per transaction: a project's first settlement can find a million labels due at once,
 * and one transaction over all of them held every row's lock and the whole set in memory for minutes.
 */
const settleChunk = 5_000;

const belowStandingReason = `your accuracy on check questions fell below the ${Math.round(goldPolicy.minAccuracy * 100)}% needed before this label was settled`;
const disagreesReason = 'your label differs from the label the item was given';

/**
 * Settles a project's labels whose window has passed, against the aggregate their item has now: verified
 * if the label agrees, rejected with the reason if not, or if its labeler has meanwhile fallen below the
 * gold threshold. Then schedules itself for the next label due. Safe to run again: a settled row is final.
 * Works through the due labels in label id order, `settleChunk` to a transaction; a chunk that fails leaves
 * the chunks before it settled and itself and the rest due, for the retry.
 */
export async function settleLabels(
  db: Database,
  projectId: string,
  options: {
    chunk?: number;
    /** Called after each chunk's commit (tests use it to move time between chunks). */
    afterChunk?: () => Promise<void>;
    /** Checked between chunks: true stops the run there (shutdown), with `stopped` in the result. */
    stopping?: () => boolean;
  } = {},
): Promise<{ verified: number; rejected: number; stopped?: true }> {
  const size = options.chunk ?? settleChunk;
  // One moment for the whole run: every label due by then is settled by a chunk, every label due after is
  // scheduled. Each chunk's own now() would strand a label that came due behind the cursor or between the
  // last chunk and the scheduling, until the project's next aggregation, which a finished project never has.
  const [moment] = await db.query<{ cutoff: string }>('select now()::text as cutoff');
  const cutoff = moment?.cutoff ?? '';
  const total = { verified: 0, rejected: 0 };
  let after = '0';
  for (;;) {
    const chunk = await db.transaction((tx) => settleChunkAfter(tx, projectId, { cutoff, after, size }));
    total.verified += chunk.verified;
    total.rejected += chunk.rejected;
    await options.afterChunk?.();
    if (chunk.last === undefined) break;
    // Not scheduled: whoever stops the run queues it again, due now.
    if (options.stopping?.()) return { ...total, stopped: true };
    after = chunk.last;
  }
  await db.transaction((tx) => scheduleSettlement(tx, projectId, { dueAfter: cutoff }));
  return total;
}

/**
 * Settles up to `size` labels due by `cutoff` with ids above `after`; `last` is the last id read (none: no more).
 */
async function settleChunkAfter(
  tx: Queryable,
  projectId: string,
  { cutoff, after, size }: { cutoff: string; after: string; size: number },
): Promise<{ verified: number; rejected: number; last: string | undefined }> {
  // Rows an aggregation is moving right now are skipped: it schedules their settlement itself.
  const due = await tx.query<DueRow>(
    `select s.label_id::text as label_id, l.device, l.value, a.label as aggregate
       from label_settlements s join labels l on l.id = s.label_id
       left join aggregated_labels a on a.item_id = s.item_id
      where s.project_id = $1 and s.due_at <= $4::timestamptz and s.label_id > $2::bigint
      order by s.label_id limit $3 for update of s skip locked`,
    [projectId, after, size, cutoff],
  );
  const records = await goldRecordsOf(
    tx,
    due.map((row) => row.device),
  );
  const verified: string[] = [];
  const belowStanding: string[] = [];
  const disagreeing: string[] = [];
  for (const row of due) {
    // An item has an aggregate once it has a settlement row; should it lack one, the label waits.
    if (row.aggregate === null) continue;
    const reference = labelReference(row.label_id);
    if (!isInGoodStanding(records.get(row.device) ?? { answered: 0, correct: 0 })) belowStanding.push(reference);
    else if (labelKey(labelValueSchema.parse(JSON.parse(row.value))) === row.aggregate) verified.push(reference);
    else disagreeing.push(reference);
  }
  const ledger = ledgerRepository(tx);
  await ledger.settleMany(verified, 'verified');
  await ledger.settleMany(belowStanding, 'rejected', belowStandingReason);
  await ledger.settleMany(disagreeing, 'rejected', disagreesReason);
  const settled = due.filter((row) => row.aggregate !== null).map((row) => row.label_id);
  if (settled.length > 0) {
    await tx.query('delete from label_settlements where label_id = any($1::text[]::bigint[])', [settled]);
  }
  return {
    verified: verified.length,
    rejected: belowStanding.length + disagreeing.length,
    last: due.length === size ? due.at(-1)?.label_id : undefined,
  };
}

/**
 * Enqueues the project's settlement for when its next label is due (`dueAfter`: only labels due after that
 * moment, as the ones due by then were just worked through).
 */
async function scheduleSettlement(
  tx: Queryable,
  projectId: string,
  which: 'any' | { dueAfter: string },
): Promise<void> {
  const next = await tx.query<{ due_at: Date | null }>(
    `select min(due_at) as due_at from label_settlements
      where project_id = $1 and ($2::timestamptz is null or due_at > $2::timestamptz)`,
    [projectId, which === 'any' ? null : which.dueAfter],
  );
  const dueAt = next[0]?.due_at;
  if (dueAt) await enqueue(tx, settleLabelsKind, projectId, { projectId }, { runAt: dueAt });
}
