import {
  type ItemContent,
  itemContentSchema,
  type LabelingProjects,
  type LeasedTask,
  labelSchemaSchema,
} from '@protocol/labeling';
import type { Database } from '../db/database';
import { unregisteredDevice } from '../repositories/device-repository';
import type { ScrapingSettings } from '../scraping-settings';
import { examplesOf } from './project-service';

const taskLeaseSeconds = 15 * 60;
/** Most expired task leases one call closes; the rest wait for the next call. */
const expiryBatch = 1000;
/**
 * How often one process closes expired task leases. Nothing waits for it: every check of a lease (room
 * on an item, a labeler's cap, a late label) reads `expires_at` itself; closing them keeps the index of
 * live leases small.
 */
const expiryEveryMs = 5000;

/** Items of open projects this labeler has never been shown; `$1` is the device. */
const unseenItem = `
  not i.complete
  and not exists (select 1 from task_assignments t where t.item_id = i.id and t.device = $1)`;

/** Live leases on item `item`: `state` says leased until a sweep closes it, `expires_at` says it is over. */
const liveLeasesOn = (item: string) => `
  (select count(*) from task_assignments held where held.item_id = ${item} and held.state = 'leased'
     and held.expires_at >= now())`;

/** Ordinary items are handed out only while usable labels plus live leases stay below the overlap. */
const hasRoom = `i.usable_labels + ${liveLeasesOn('i.id')} < p.overlap`;

/**
 * Whether project `p` has an ordinary item for labeler `$1`: walks the `project_items_open_work` index in
 * lease order and stops at the first (a scalar subquery with LIMIT, which the planner does not turn into a
 * semi join over every open item of the project).
 */
const hasWork = `
  (select true from project_items i
    where i.project_id = p.id and ${unseenItem} and i.gold_answer is null and ${hasRoom}
    order by i.usable_labels desc, i.id limit 1)`;

interface CandidateRow {
  id: string;
  gold: boolean;
  /** A gold item from before the random starting point (taken after those from after it). */
  wrapped: number;
  content: string;
  usable_labels: number;
  project_id: string;
  name: string;
  instructions: string;
  label_schema: string;
  examples: unknown;
  gold_rate: number;
  total: number;
  gold_shown: number;
  room: number;
}

/**
 * In one statement (a snapshot taken after the device's row is locked): the room under the labeler's cap,
 * the oldest active project with real work left for it (gold alone is no reason to hand out tasks; paused
 * and cancelled projects are skipped by the `projects_active` partial index before their items are looked
 * at), what it has been shown of that project, and up to `room` unseen items of each kind, locked: ordinary
 * ones in lease order, gold ones in id order from a random starting point (wrapping round), each read from
 * its index so the cost does not grow with the project. NO KEY
 * UPDATE, not UPDATE: rows that reference an item (an aggregate or a label settlement written by the
 * background worker) key-share lock it, and FOR UPDATE would skip it as locked, leaving a labeler without
 * a task. `$1` device, `$2` project or null, `$3` most tasks asked, `$4` the cap, `$5` projects already served.
 */
const candidatesSql = `
  with live as (
    select count(*)::int as live from task_assignments where device = $1 and state = 'leased' and expires_at >= now()
  ),
  room as (select greatest(0, least($3::int, $4::int - live))::int as n from live),
  project as (
    select p.id, p.gold_rate, p.name, p.instructions, p.label_schema, p.examples from projects p
     where p.state = 'active' and ($2::uuid is null or p.id = $2) and p.id <> all($5::text[]::uuid[])
       and (select n from room) > 0
       and ${hasWork}
     order by p.created_at limit 1
  ),
  shown as (
    select count(*)::int as total, count(*) filter (where i.gold_answer is not null)::int as gold
      from task_assignments t join project_items i on i.id = t.item_id
     where t.project_id = (select id from project) and t.device = $1
  ),
  gold_pivot as (
    select min(i.id) + floor(random() * (max(i.id) - min(i.id) + 1))::bigint as id from project_items i
     where i.project_id = (select id from project) and not i.complete and i.gold_answer is not null
  ),
  gold_after as (
    select i.id, i.content, i.usable_labels from project_items i
     where i.project_id = (select id from project) and ${unseenItem} and i.gold_answer is not null
       and i.id >= (select id from gold_pivot)
     order by i.id limit (select n from room)
     for no key update of i skip locked
  ),
  gold_before as (
    select i.id, i.content, i.usable_labels from project_items i
     where i.project_id = (select id from project) and ${unseenItem} and i.gold_answer is not null
       and i.id < (select id from gold_pivot)
     order by i.id limit (select n from room)
     for no key update of i skip locked
  ),
  ordinary_items as (
    select i.id, i.content, i.usable_labels from project_items i join projects p on p.id = i.project_id
     where i.project_id = (select id from project) and ${unseenItem} and i.gold_answer is null and ${hasRoom}
     order by i.usable_labels desc, i.id limit (select n from room)
     for no key update of i skip locked
  )
  select c.id::text as id, c.gold, c.wrapped, c.content, c.usable_labels, p.id::text as project_id, p.name, p.instructions,
         p.label_schema, p.examples, p.gold_rate, s.total, s.gold as gold_shown, (select n from room) as room
    from (select id, content, usable_labels, true as gold, 0 as wrapped from gold_after
          union all select id, content, usable_labels, true, 1 from gold_before
          union all select id, content, usable_labels, false, 0 from ordinary_items) c
    cross join project p cross join shown s`;

/**
 * Writes the chosen leases. Ordinary items are checked for room once more: this statement's snapshot is
 * taken while their rows are locked, so it sees every lease committed before (the pick's snapshot may
 * predate a lease that committed while the pick ran), and no item passes its overlap.
 */
const insertSql = `
  insert into task_assignments (item_id, project_id, device, left_is_a, expires_at)
  select t.item_id, $2, $3, t.left_is_a, now() + make_interval(secs => $4)
    from unnest($1::text[]::bigint[], $5::text[]::boolean[], $6::text[]::boolean[])
         with ordinality as t(item_id, left_is_a, gold, n)
   where t.gold
      or (select i.usable_labels from project_items i where i.id = t.item_id) + ${liveLeasesOn('t.item_id')}
         < (select p.overlap from projects p where p.id = $2)
   order by t.n
  returning id::text as id, item_id::text as item_id, expires_at`;

function shownContent(content: ItemContent, leftIsA: boolean): LeasedTask['content'] {
  if (content.type !== 'pairwise') return content;
  const [a, b] = content.answers;
  return { type: 'pairwise', prompt: content.prompt, left: leftIsA ? a : b, right: leftIsA ? b : a };
}

/**
 * Closes task leases that ran out. Its own short transaction, rows taken in id order with SKIP LOCKED:
 * a lease whose label is being ingested right now is left for a later call, and this never waits for (or
 * deadlocks with) that ingest.
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
 * Chooses, in order, what one project gives a labeler: ordinary items while it has some (its real work),
 * gold mixed in at its rate. Each labeler's share of gold stays within one task of the rate, at random
 * places: a labeler sees about the promised share of checks, and cannot tell which task is one.
 */
function chooseTasks(rows: readonly CandidateRow[]): CandidateRow[] {
  const first = rows[0];
  if (!first) return [];
  const gold = rows.filter((row) => row.gold).sort((a, b) => a.wrapped - b.wrapped || Number(a.id) - Number(b.id));
  const ordinary = rows
    .filter((row) => !row.gold)
    .sort((a, b) => b.usable_labels - a.usable_labels || Number(a.id) - Number(b.id));
  let total = first.total;
  let goldShown = first.gold_shown;
  const chosen: CandidateRow[] = [];
  while (chosen.length < first.room && ordinary.length > 0) {
    const wantGold = goldShown < first.gold_rate * (total + 1) - Math.random();
    const next = (wantGold ? gold.shift() : undefined) ?? (ordinary.shift() as CandidateRow);
    chosen.push(next);
    total += 1;
    if (next.gold) goldShown += 1;
  }
  return chosen;
}

/**
 * Leases labeling tasks: never an item the labeler saw before, gold items mixed in at the project's
 * rate and shaped exactly like the others, pairwise answers in a random order recorded per assignment,
 * no item handed out beyond its overlap, and never more live tasks to one labeler than its cap.
 */
export function taskLeaseService(db: Database, settings: Pick<ScrapingSettings, 'limits'>) {
  let lastExpiry = 0;
  const expireNow = async () => {
    if (Date.now() - lastExpiry < expiryEveryMs) return;
    lastExpiry = Date.now();
    await expireTaskLeases(db);
  };
  return {
    /** Tasks for `device`, at most `max`; with `projectId`, of that project only (none when it has no work). */
    async lease(device: string, max: number, projectId?: string): Promise<LeasedTask[]> {
      await expireNow();
      return db.transaction(async (tx) => {
        // Locks the device's row first, so concurrent calls of one device take turns and never pass the cap;
        // the next statement counts its live leases in a snapshot taken after the lock. Deadlock-free for the
        // reason given at the job lease's lock (lease-service.ts): afterwards this transaction only takes
        // SKIP LOCKED row locks or inserts rows, so it never waits while holding the device row.
        const locked = await tx.query('select 1 from devices where address = $1 for no key update', [device]);
        // The device's row is gone under a live session (a database restored or cleared under the server).
        if (locked.length === 0) throw unregisteredDevice(device);
        const tasks: LeasedTask[] = [];
        const served: string[] = [];
        let wanted = max;
        // One round per project: the next project is asked only when this one ran out of work for the labeler.
        while (wanted > 0) {
          const chosen = chooseTasks(
            await tx.query<CandidateRow>(candidatesSql, [
              device,
              projectId ?? null,
              wanted,
              settings.limits.taskLeasesPerDevice,
              served,
            ]),
          );
          const project = chosen[0];
          if (!project) break;
          served.push(project.project_id);
          const leftIsA = chosen.map(() => Math.random() < 0.5);
          const written = await tx.query<{ id: string; item_id: string; expires_at: Date }>(insertSql, [
            chosen.map((row) => row.id),
            project.project_id,
            device,
            taskLeaseSeconds,
            leftIsA.map(String),
            chosen.map((row) => String(row.gold)),
          ]);
          const byItem = new Map(written.map((row) => [row.item_id, row]));
          chosen.forEach((candidate, n) => {
            const assignment = byItem.get(candidate.id);
            if (!assignment) return;
            tasks.push({
              assignmentId: assignment.id,
              projectId: candidate.project_id,
              projectName: candidate.name,
              instructions: candidate.instructions,
              labelSchema: labelSchemaSchema.parse(JSON.parse(candidate.label_schema)),
              content: shownContent(itemContentSchema.parse(JSON.parse(candidate.content)), leftIsA[n] === true),
              ...withExamples(candidate.examples),
              expiresAt: assignment.expires_at.toISOString(),
            });
          });
          if (projectId) break;
          // What the ask and the cap leave for the next project (the room already counts this labeler's live leases).
          wanted = project.room - written.length;
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
      await expireNow();
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
            and (${hasWork}
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
