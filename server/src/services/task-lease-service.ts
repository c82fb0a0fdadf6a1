import {
  type ItemContent,
  itemContentSchema,
  type LabelingProjects,
  type LeasedTask,
  labelSchemaSchema,
} from '@protocol/labeling';
import type { Database, Queryable } from '../db/database';
import type { ScrapingSettings } from '../scraping-settings';
import { examplesOf } from './project-service';

const taskLeaseSeconds = 15 * 60;
/** Most expired task leases one call closes; the rest wait for the next call. */
const expiryBatch = 1000;

interface Candidate {
  id: string;
  project_id: string;
  name: string;
  instructions: string;
  label_schema: string;
  content: string;
  examples: unknown;
}

/** Items of open projects this labeler has never been shown; `$1` is the device. */
const unseenItem = `
  not i.complete
  and not exists (select 1 from task_assignments t where t.item_id = i.id and t.device = $1)`;

/** Ordinary items are handed out only while usable labels plus live leases stay below the overlap. */
const hasRoom = `
  i.usable_labels + (select count(*) from task_assignments t where t.item_id = i.id and t.state = 'leased') < p.overlap`;

async function pick(tx: Queryable, device: string, projectId: string, gold: boolean): Promise<Candidate | undefined> {
  // NO KEY UPDATE, not UPDATE: rows that reference the item (an aggregate or a label settlement written by the
  // background worker) key-share lock it, and FOR UPDATE would skip it as locked, leaving a labeler without a task.
  const rows = await tx.query<Candidate>(
    `select i.id::text as id, i.project_id, p.name, p.instructions, p.label_schema, i.content, p.examples
       from project_items i join projects p on p.id = i.project_id
      where i.project_id = $2 and ${unseenItem}
        and ${gold ? 'i.gold_answer is not null' : `i.gold_answer is null and ${hasRoom}`}
      order by ${gold ? 'random()' : 'i.usable_labels desc, i.id'}
      limit 1
      for no key update of i skip locked`,
    [device, projectId],
  );
  return rows[0];
}

function shownContent(content: ItemContent, leftIsA: boolean): LeasedTask['content'] {
  if (content.type !== 'pairwise') return content;
  const [a, b] = content.answers;
  return { type: 'pairwise', prompt: content.prompt, left: leftIsA ? a : b, right: leftIsA ? b : a };
}

/**
 * Closes task leases that ran out, so their items count as free again. Its own short transaction,
 * rows taken in id order with SKIP LOCKED: a lease whose label is being ingested right now is left
 * for a later call, and this never waits for (or deadlocks with) that ingest.
 */
async function expireTaskLeases(db: Database): Promise<void> {
  await db.query(
    `with expired as (
       select id from task_assignments where state = 'leased' and expires_at < now()
        order by id limit $1 for update skip locked)
     update task_assignments t set state = 'expired' from expired e where t.id = e.id`,
    [expiryBatch],
  );
}

/**
 * Locks the device's row for this transaction and counts its live task leases, so concurrent calls
 * of one device take turns and never pass the cap. Deadlock-free for the reason given at the job
 * lease's lock (lease-service.ts): it is taken first, and afterwards this transaction only takes
 * SKIP LOCKED row locks or inserts rows, so it never waits while holding the device row.
 */
async function lockLiveTaskLeases(tx: Queryable, device: string): Promise<number> {
  await tx.query('select 1 from devices where address = $1 for no key update', [device]);
  const rows = await tx.query<{ live: number }>(
    `select count(*)::int as live from task_assignments
      where device = $1 and state = 'leased' and expires_at >= now()`,
    [device],
  );
  return rows[0]?.live ?? 0;
}

/**
 * Leases labeling tasks: never an item the labeler saw before, gold items mixed in at the project's
 * rate and shaped exactly like the others, pairwise answers in a random order recorded per assignment,
 * no item handed out beyond its overlap, and never more live tasks to one labeler than its cap.
 */
export function taskLeaseService(db: Database, settings: Pick<ScrapingSettings, 'limits'>) {
  return {
    /** Tasks for `device`, at most `max`; with `projectId`, of that project only (none when it has no work). */
    async lease(device: string, max: number, projectId?: string): Promise<LeasedTask[]> {
      await expireTaskLeases(db);
      return db.transaction(async (tx) => {
        const room = Math.min(max, settings.limits.taskLeasesPerDevice - (await lockLiveTaskLeases(tx, device)));
        const tasks: LeasedTask[] = [];
        for (let n = 0; n < room; n += 1) {
          // The oldest active project with real work left for this labeler (gold alone is no reason to
          // hand out tasks); gold items are mixed in at that project's rate. Paused and cancelled
          // projects are skipped by the `projects_active` partial index before their items are looked at.
          const projects = await tx.query<{ id: string; gold_rate: number }>(
            `select p.id, p.gold_rate from projects p
              where p.state = 'active' and ($2::uuid is null or p.id = $2)
                and exists (select 1 from project_items i where i.project_id = p.id and ${unseenItem}
                              and i.gold_answer is null and ${hasRoom})
              order by p.created_at limit 1`,
            [device, projectId ?? null],
          );
          const project = projects[0];
          if (!project) break;
          // Keep this labeler's share of gold within one task of the rate, at random places: a labeler
          // sees about the promised share of checks, and cannot tell which task is one.
          const shown = await tx.query<{ total: number; gold: number }>(
            `select count(*)::int as total, count(*) filter (where i.gold_answer is not null)::int as gold
               from task_assignments t join project_items i on i.id = t.item_id
              where t.project_id = $1 and t.device = $2`,
            [project.id, device],
          );
          const total = shown[0]?.total ?? 0;
          const goldShown = shown[0]?.gold ?? 0;
          const wantGold = goldShown < project.gold_rate * (total + 1) - Math.random();
          const candidate =
            (await pick(tx, device, project.id, wantGold)) ?? (await pick(tx, device, project.id, !wantGold));
          if (!candidate) break;
          const leftIsA = Math.random() < 0.5;
          const rows = await tx.query<{ id: string; expires_at: Date }>(
            `insert into task_assignments (item_id, project_id, device, left_is_a, expires_at)
             values ($1, $2, $3, $4, now() + make_interval(secs => $5)) returning id::text, expires_at`,
            [candidate.id, candidate.project_id, device, leftIsA, taskLeaseSeconds],
          );
          const assignment = rows[0];
          if (!assignment) throw new Error('task assignment insert returned no row');
          tasks.push({
            assignmentId: assignment.id,
            projectId: candidate.project_id,
            projectName: candidate.name,
            instructions: candidate.instructions,
            labelSchema: labelSchemaSchema.parse(JSON.parse(candidate.label_schema)),
            content: shownContent(itemContentSchema.parse(JSON.parse(candidate.content)), leftIsA),
            ...withExamples(candidate.examples),
            expiresAt: assignment.expires_at.toISOString(),
          });
        }
        return tasks;
      });
    },

    /**
     * The active projects with work for `device` (the lease's test, or tasks of it leased to this
     * device and not answered yet), oldest first, by name
     * with the crowd's progress on ordinary items and the labeler's own answers. Gold counts, the
     * buyer and other labelers stay out: a labeler may not tell check items from the rest.
     */
    async projectsWithWork(device: string): Promise<LabelingProjects> {
      await expireTaskLeases(db);
      const rows = await db.query<{
        id: string;
        name: string;
        label_schema: string;
        items: number;
        items_complete: number;
        your_labels: number;
      }>(
        `select p.id::text as id, p.name, p.label_schema,
                (select count(*)::int from project_items i where i.project_id = p.id and i.gold_answer is null) as items,
                (select count(*)::int from project_items i
                  where i.project_id = p.id and i.gold_answer is null and i.complete) as items_complete,
                (select count(*)::int from labels l where l.project_id = p.id and l.device = $1) as your_labels
           from projects p
          where p.state = 'active'
            and (exists (select 1 from project_items i where i.project_id = p.id and ${unseenItem}
                           and i.gold_answer is null and ${hasRoom})
                 -- Tasks already leased to this labeler are work too: its queue may hold the project's last items.
                 or exists (select 1 from task_assignments t where t.project_id = p.id and t.device = $1
                              and t.state = 'leased' and t.expires_at >= now()))
          order by p.created_at
          limit $2`,
        [device, maxListedProjects],
      );
      return {
        projects: rows.map((row) => ({
          id: row.id,
          name: row.name,
          labelType: labelSchemaSchema.parse(JSON.parse(row.label_schema)).type,
          items: row.items,
          itemsComplete: row.items_complete,
          yourLabels: row.your_labels,
        })),
      };
    },
  };
}

/** Most projects one listing names: a labeler chooses among a handful, not a catalogue. */
const maxListedProjects = 50;

/** A task's examples, only when the project has some (older clients never see an empty list). */
function withExamples(stored: unknown): Pick<LeasedTask, 'examples'> {
  const examples = examplesOf(stored);
  return examples.length > 0 ? { examples } : {};
}
