import { matchesGold, toLabelValue, valueProblem } from '@protocol/label-rules';
import {
  type ItemContent,
  itemContentSchema,
  type LabelResult,
  labelSchemaSchema,
  labelValueSchema,
} from '@protocol/labeling';
import type { ResultAck } from '@protocol/results';
import type { Queryable } from '../db/database';
import { goldRecordOf, isInGoodStanding } from './labeler-quality';

interface TaskRow {
  id: string;
  item_id: string;
  project_id: string;
  state: string;
  left_is_a: boolean;
  content: string;
  gold_answer: string | null;
  label_schema: string;
  overlap: number;
}

/**
 * Applies one label from a result batch: checks it belongs to this labeler's lease and fits the
 * project's schema, stores it with pairwise answers mapped from left/right to a/b, scores gold, and
 * counts it toward the item's overlap only while the labeler is in good standing.
 */
export async function applyLabel(
  tx: Queryable,
  device: string,
  label: LabelResult & { skipped: boolean },
): Promise<Pick<ResultAck, 'status' | 'reason'> & { projectId?: string }> {
  if (!/^\d{1,18}$/.test(label.assignmentId))
    return { status: 'rejected', reason: 'assignmentId is not a task lease id' };
  const rows = await tx.query<TaskRow>(
    `select t.id::text as id, t.item_id::text as item_id, t.project_id, t.state, t.left_is_a, i.content, i.gold_answer,
            p.label_schema, p.overlap
       from task_assignments t join project_items i on i.id = t.item_id join projects p on p.id = t.project_id
      where t.id = $1 and t.device = $2
      for update of t`,
    [label.assignmentId, device],
  );
  const task = rows[0];
  if (!task) return { status: 'rejected', reason: `task ${label.assignmentId} is not a lease of this device` };
  if (task.state === 'submitted' || task.state === 'skipped') return { status: 'duplicate' };
  if (label.skipped) {
    await tx.query(`update task_assignments set state = 'skipped' where id = $1`, [task.id]);
    return { status: 'accepted' };
  }
  if (!label.answer) return { status: 'rejected', reason: 'a label that is not skipped needs an answer' };
  const schema = labelSchemaSchema.parse(JSON.parse(task.label_schema));
  const content: ItemContent = itemContentSchema.parse(JSON.parse(task.content));
  const value = toLabelValue(label.answer, task.left_is_a);
  const problem = valueProblem(schema, content, value);
  if (problem) return { status: 'rejected', reason: problem };
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
  if (gold === null && isInGoodStanding(await goldRecordOf(tx, device))) {
    await tx.query(
      `update project_items set usable_labels = usable_labels + 1, complete = (usable_labels + 1 >= $2) where id = $1`,
      [task.item_id, task.overlap],
    );
  }
  return { status: 'accepted', projectId: task.project_id };
}
