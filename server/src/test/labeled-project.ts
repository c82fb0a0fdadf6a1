import { randomUUID } from 'node:crypto';
import type { syntheticCrowd } from '../aggregation/synthetic-crowd';
import type { Database } from '../db/database';

/**
 * A single-choice project holding `crowd`'s labels, written in a few statements (uploading tens of thousands
 * of labels would take minutes): its buyer, the crowd's workers as devices, one item per task (`complete` or
 * not) and a done assignment with a label per answer. Returns the project's id.
 */
export async function seedLabeledProject(
  db: Database,
  crowd: ReturnType<typeof syntheticCrowd>,
  options: { overlap: number; complete: boolean },
): Promise<string> {
  const buyerId = randomUUID();
  const projectId = randomUUID();
  await db.query(`insert into buyers (id, name) values ($1, 'buyer')`, [buyerId]);
  await db.query(
    `insert into projects (id, buyer_id, name, instructions, label_schema, overlap, gold_rate)
     values ($1, $2, 'seeded', 'Label it.', $3, $4, 0)`,
    [projectId, buyerId, JSON.stringify({ type: 'single_choice', choices: crowd.classes }), options.overlap],
  );
  const device = (worker: string) => `0x${worker.slice(1).padStart(40, '0')}`;
  await db.query(
    `insert into devices (address, extension_version, browser) select d, '0.1.0', 'chrome' from unnest($1::text[]) d
     on conflict do nothing`,
    [[...crowd.kinds.keys()].map(device)],
  );
  const items = await db.query<{ id: string; external_id: string }>(
    `insert into project_items (project_id, external_id, content, complete)
     select $1, e, '{"type":"text","text":"review"}', $3 from unnest($2::text[]) e
     returning id::text as id, external_id`,
    [projectId, [...crowd.truth.keys()], options.complete],
  );
  // Labels name their items by id: no join on external ids, which has no index and was planned as a nested loop.
  const itemId = new Map(items.map((row) => [row.external_id, row.id]));
  // In slices: one statement's arrays stay a few MB however big the crowd.
  for (let at = 0; at < crowd.labels.length; at += 100_000) {
    const slice = crowd.labels.slice(at, at + 100_000);
    await db.query(
      `with given as (
         select t.item_id, t.device, t.value
           from unnest($2::text[], $3::text[]::bigint[], $4::text[]) as t(device, item_id, value)),
       assigned as (
         insert into task_assignments (item_id, project_id, device, expires_at, state)
         select item_id, $1, device, now(), 'done' from given returning id, item_id, device)
       insert into labels (assignment_id, item_id, project_id, device, value, is_gold, labeled_at)
       select a.id, a.item_id, $1, a.device, g.value, false, now()
         from assigned a join given g on g.item_id = a.item_id and g.device = a.device`,
      [
        projectId,
        slice.map((label) => device(label.worker)),
        slice.map((label) => itemId.get(label.item)),
        slice.map((label) => JSON.stringify({ type: 'single_choice', choice: label.label })),
      ],
    );
  }
  return projectId;
}
