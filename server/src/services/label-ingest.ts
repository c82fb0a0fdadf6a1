import { matchesGold, toLabelValue, valueProblem } from '@protocol/label-rules';
import { type ItemContent, itemContentSchema, labelSchemaSchema, labelValueSchema } from '@protocol/labeling';
import type { ResultAck } from '@protocol/results';
import { maxClockSkewSeconds } from '@protocol/signing';
import type { Queryable } from '../db/database';
import { goldRecordOf, isInGoodStanding } from './labeler-quality';
import type { LabelRecord, Refusal } from './record-checks';

interface TaskRow {
  id: string;
  item_id: string;
  project_id: string;
  state: string;
  left_is_a: boolean;
  leased_at: Date;
  expires_at: Date;
  content: string;
  gold_answer: string | null;
  label_schema: string;
  overlap: number;
}

interface ItemRow {
  id: string;
  usable_labels: number;
}

/**
 * Applies the labels of one batch: each must belong to this labeler's lease, be given within it, and
 * fit the project's schema; it is stored with pairwise answers mapped from left/right to a/b, gold
 * is scored, and it counts toward its item's overlap while the labeler is in good standing. A label
 * whose lease ran out counts only if its item still has room (others filled it meanwhile otherwise).
 * Rows are locked tasks first, then items, each in id order. Returns the projects that got labels.
 */
export async function applyLabels(
  tx: Queryable,
  device: string,
  labels: ReadonlyArray<{ index: number; label: LabelRecord }>,
  acks: ResultAck[],
): Promise<string[]> {
  const reject = (index: number, assignmentId: string, refusal: Refusal) => {
    acks[index] = { index, assignmentId, status: 'rejected', ...refusal };
  };
  const ids = [...new Set(labels.map((l) => l.label.assignmentId).filter((id) => /^\d{1,18}$/.test(id)))];
  const tasks = new Map(
    (
      await tx.query<TaskRow>(
        `select t.id::text as id, t.item_id::text as item_id, t.project_id, t.state, t.left_is_a, t.leased_at,
                t.expires_at, i.content, i.gold_answer, p.label_schema, p.overlap
           from task_assignments t join project_items i on i.id = t.item_id join projects p on p.id = t.project_id
          where t.id = any($1::text[]::bigint[]) and t.device = $2
          order by t.id for no key update of t`,
        [ids, device],
      )
    ).map((task) => [task.id, task]),
  );
  const itemIds = [...new Set([...tasks.values()].map((task) => task.item_id))];
  const items = new Map(
    (
      await tx.query<ItemRow>(
        `select id::text as id, usable_labels from project_items where id = any($1::text[]::bigint[])
          order by id for no key update`,
        [itemIds],
      )
    ).map((item) => [item.id, item]),
  );
  let standing = isInGoodStanding(await goldRecordOf(tx, device));
  const now = Date.now();
  const projects = new Set<string>();
  const done = new Set<string>();

  for (const { index, label } of labels) {
    const task = tasks.get(label.assignmentId);
    if (!task) {
      reject(index, label.assignmentId, {
        code: 'foreign_assignment',
        reason: `task ${label.assignmentId} is not a lease of this device`,
      });
      continue;
    }
    if (done.has(task.id) || task.state === 'submitted' || task.state === 'skipped') {
      acks[index] = {
        index,
        assignmentId: label.assignmentId,
        status: 'duplicate',
        code: 'already_received',
        reason: 'this label was received before; it is kept once',
      };
      continue;
    }
    const labeledAt = Date.parse(label.labeledAt);
    const skew = maxClockSkewSeconds * 1000;
    if (labeledAt < task.leased_at.getTime() - skew || labeledAt > task.expires_at.getTime() + skew) {
      reject(index, label.assignmentId, {
        code: 'outside_lease',
        reason: `labeledAt ${label.labeledAt} is outside the task's lease (${task.leased_at.toISOString()} to ${task.expires_at.toISOString()})`,
      });
      continue;
    }
    if (label.skipped) {
      done.add(task.id);
      await tx.query(`update task_assignments set state = 'skipped' where id = $1`, [task.id]);
      acks[index] = { index, assignmentId: label.assignmentId, status: 'accepted' };
      continue;
    }
    if (!label.answer) {
      reject(index, label.assignmentId, {
        code: 'invalid_label',
        reason: 'a label that is not skipped needs an answer',
      });
      continue;
    }
    const schema = labelSchemaSchema.parse(JSON.parse(task.label_schema));
    const content: ItemContent = itemContentSchema.parse(JSON.parse(task.content));
    const value = toLabelValue(label.answer, task.left_is_a);
    const problem = valueProblem(schema, content, value);
    if (problem) {
      reject(index, label.assignmentId, { code: 'invalid_label', reason: problem });
      continue;
    }
    const item = items.get(task.item_id);
    const expired = task.state === 'expired' || task.expires_at.getTime() < now;
    if (expired && item && item.usable_labels >= task.overlap) {
      reject(index, label.assignmentId, {
        code: 'job_complete',
        reason: 'your task lease ran out and other labelers have since given this item every label it needs',
      });
      continue;
    }
    done.add(task.id);
    const gold = task.gold_answer === null ? null : labelValueSchema.parse(JSON.parse(task.gold_answer));
    const shownLeft = label.answer.type === 'pairwise' ? (task.left_is_a ? 'a' : 'b') : null;
    await tx.query(
      `insert into labels (assignment_id, item_id, project_id, device, value, shown_left, is_gold, gold_correct, labeled_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        task.id,
        task.item_id,
        task.project_id,
        device,
        JSON.stringify(value),
        shownLeft,
        gold !== null,
        gold === null ? null : matchesGold(gold, value),
        label.labeledAt,
      ],
    );
    await tx.query(`update task_assignments set state = 'submitted' where id = $1`, [task.id]);
    // A gold answer moves the labeler's standing for the labels after it.
    if (gold !== null) standing = isInGoodStanding(await goldRecordOf(tx, device));
    if (gold === null && standing && item) {
      item.usable_labels += 1;
      await tx.query(
        `update project_items set usable_labels = $2::int, complete = ($2::int >= $3::int) where id = $1`,
        [item.id, item.usable_labels, task.overlap],
      );
    }
    projects.add(task.project_id);
    acks[index] = { index, assignmentId: label.assignmentId, status: 'accepted' };
  }
  return [...projects];
}
