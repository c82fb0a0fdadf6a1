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
  // Kept up to date below as this batch's gold answers are scored, rather than counted again after each.
  const record = await goldRecordOf(tx, device);
  let standing = isInGoodStanding(record);
  const now = Date.now();
  const projects = new Set<string>();
  const done = new Set<string>();
  // Written once each at the end, in a few multi-row statements: every row they touch is locked above.
  const taskStates = new Map<string, 'skipped' | 'submitted'>();
  const inserts: Array<{
    task: TaskRow;
    value: string;
    shownLeft: string | null;
    goldCorrect: boolean | null;
    labeledAt: string;
  }> = [];
  const counted = new Map<string, { item: ItemRow; overlap: number }>();

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
      taskStates.set(task.id, 'skipped');
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
    const goldCorrect = gold === null ? null : matchesGold(gold, value);
    // As UTC: PostgreSQL refuses offsets past ±15:59 that ISO dates may carry (the lease check read the instant).
    inserts.push({
      task,
      value: JSON.stringify(value),
      shownLeft,
      goldCorrect,
      labeledAt: new Date(labeledAt).toISOString(),
    });
    taskStates.set(task.id, 'submitted');
    // A gold answer moves the labeler's standing for the labels after it.
    if (goldCorrect !== null) {
      record.answered += 1;
      if (goldCorrect) record.correct += 1;
      standing = isInGoodStanding(record);
    }
    if (gold === null && standing && item) {
      item.usable_labels += 1;
      counted.set(item.id, { item, overlap: task.overlap });
    }
    projects.add(task.project_id);
    acks[index] = { index, assignmentId: label.assignmentId, status: 'accepted' };
  }
  if (inserts.length > 0) {
    await tx.query(
      `insert into labels (assignment_id, item_id, project_id, device, value, shown_left, is_gold, gold_correct, labeled_at)
       select t.assignment_id, t.item_id, t.project_id, $1, t.value, t.shown_left, t.gold_correct is not null,
              t.gold_correct, t.labeled_at
         from unnest($2::text[]::bigint[], $3::text[]::bigint[], $4::text[]::uuid[], $5::text[], $6::text[],
                     $7::text[]::boolean[], $8::text[]::timestamptz[])
              with ordinality as t(assignment_id, item_id, project_id, value, shown_left, gold_correct, labeled_at, n)
        order by t.n`,
      [
        device,
        inserts.map((row) => row.task.id),
        inserts.map((row) => row.task.item_id),
        inserts.map((row) => row.task.project_id),
        inserts.map((row) => row.value),
        inserts.map((row) => row.shownLeft),
        inserts.map((row) => (row.goldCorrect === null ? null : String(row.goldCorrect))),
        inserts.map((row) => row.labeledAt),
      ],
    );
  }
  if (taskStates.size > 0) {
    await tx.query(
      `update task_assignments a set state = t.state
         from unnest($1::text[]::bigint[], $2::text[]) as t(id, state) where a.id = t.id`,
      [[...taskStates.keys()], [...taskStates.values()]],
    );
  }
  if (counted.size > 0) {
    const changes = [...counted.values()];
    await tx.query(
      `update project_items i set usable_labels = t.usable, complete = (t.usable >= t.overlap)
         from unnest($1::text[]::bigint[], $2::text[]::int[], $3::text[]::int[]) as t(id, usable, overlap) where i.id = t.id`,
      [
        changes.map((c) => c.item.id),
        changes.map((c) => String(c.item.usable_labels)),
        changes.map((c) => String(c.overlap)),
      ],
    );
  }
  return [...projects];
}
