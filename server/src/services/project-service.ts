import { randomUUID } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { BuyerListQuery } from '@protocol/campaigns';
import { BaseError } from '@protocol/errors';
import { itemProblem, labelKey } from '@protocol/label-rules';
import {
  type ItemContent,
  itemContentSchema,
  type LabelSchema,
  labelSchemaSchema,
  labelValueSchema,
  maxItemsPerRequest,
  type Project,
  type ProjectAggregation,
  type ProjectCreated,
  type ProjectExample,
  type ProjectLabelers,
  type ProjectLabels,
  type ProjectList,
  projectAggregationSchema,
  projectExampleSchema,
  projectItemInputSchema,
  tooManyItems,
} from '@protocol/labeling';
import { checkUrl } from '@protocol/url-guard';
import { z } from 'zod';
import { positionBias } from '../aggregation/position-bias';
import type { Database } from '../db/database';
import type { ScrapingSettings } from '../scraping-settings';
import { enqueueAggregation } from './background-work';
import { goldAccuracy, isInGoodStanding } from './labeler-quality';
import { listCursorSql, listNewestFirst } from './list-cursor';
import { contributorPseudonym, pseudonymKeys, pseudonymsFor } from './pseudonyms';
import { changeWorkState, type WorkAction } from './work-state';

type RejectedItem = { index: number; id: string | null; reason: string };

interface ProjectRow {
  id: string;
  name: string;
  instructions: string;
  label_schema: string;
  overlap: number;
  gold_rate: number;
  created_at: Date;
  cursor: string;
  state: 'active' | 'paused' | 'cancelled';
  /** jsonb: the aggregation chosen at the last re-aggregation (label-aggregation.ts), or null. */
  aggregation: unknown;
  /** jsonb: the worked examples (ProjectExample[]), or null when the buyer gave none. */
  examples: unknown;
}

const projectColumns = `id, name, instructions, label_schema, overlap, gold_rate, created_at,
  ${listCursorSql('created_at')} as cursor, state, aggregation, examples`;

/** The stored examples (jsonb, or its text from a driver that leaves jsonb unparsed); none when null. */
export function examplesOf(stored: unknown): ProjectExample[] {
  if (stored === null || stored === undefined) return [];
  return z.array(projectExampleSchema).parse(typeof stored === 'string' ? JSON.parse(stored) : stored);
}

/** Refuses (400) a project whose examples do not fit its schema, naming the first one that does not. */
function checkExamples(
  schema: LabelSchema,
  examples: readonly ProjectExample[],
  settings: Pick<ScrapingSettings, 'testOrigins'>,
): void {
  for (const [index, example] of examples.entries()) {
    const problem = itemProblem(schema, example.content, example.answer) ?? imageProblem(example.content, settings);
    if (problem) {
      throw new BaseError('bad_request', `examples.${index}: ${problem.replace(/^gold answer/, 'answer')}`);
    }
  }
}

/** The stored aggregation choice (a jsonb object, or its text from a driver that leaves jsonb unparsed). */
function aggregationOf(stored: unknown): ProjectAggregation | null {
  if (stored === null || stored === undefined) return null;
  return projectAggregationSchema.parse(typeof stored === 'string' ? JSON.parse(stored) : stored);
}

/** A buyer's control over a project: `POST /v1/projects/:id/pause|resume|cancel`. */
export type ProjectAction = WorkAction;

/**
 * Items checked and inserted per step: one multi-row insert in its own transaction, with the event
 * loop free between steps. A request of 10,000 items runs as ten short steps and other requests are
 * served between them (on embedded PGlite a transaction holds the one connection alone, so one long
 * transaction would stall everyone). Each step stands on its own: ids already in the project are
 * refused, so a request that failed part-way can be sent again.
 */
const chunkSize = 1000;

const issuesText = (error: z.ZodError) =>
  error.issues
    .slice(0, 4)
    .map((issue) => `${issue.path.join('.') || 'item'}: ${issue.message}`)
    .join('; ');

/**
 * An image the labeler's browser would load must pass the same URL rules as a page to scrape: no
 * private, loopback, link-local or metadata address, no local names, ports 80/443 only.
 */
function imageProblem(content: ItemContent, settings: Pick<ScrapingSettings, 'testOrigins'>): string | undefined {
  if (content.type !== 'image') return undefined;
  const verdict = checkUrl(content.imageUrl, { allowedTestOrigins: settings.testOrigins });
  return verdict.ok ? undefined : `content.imageUrl is refused (${verdict.rule}): ${verdict.reason}`;
}

/**
 * Checks each uploaded item on its own against the project's schema and inserts the good ones;
 * bad ones and ids already in the project come back with a reason.
 */
async function insertItems(
  db: Database,
  projectId: string,
  schema: LabelSchema,
  items: readonly unknown[],
  settings: Pick<ScrapingSettings, 'testOrigins'>,
): Promise<{ added: number; rejected: RejectedItem[] }> {
  const rejected: RejectedItem[] = [];
  const seen = new Set<string>();
  let added = 0;
  for (let start = 0; start < items.length; start += chunkSize) {
    if (start > 0) await yieldToEventLoop();
    const good: Array<{ index: number; id: string; content: string; gold: string | null }> = [];
    items.slice(start, start + chunkSize).forEach((raw, offset) => {
      const index = start + offset;
      const rawId = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
      const id = typeof rawId === 'string' ? rawId : null;
      const parsed = projectItemInputSchema.safeParse(raw);
      if (!parsed.success) {
        rejected.push({ index, id, reason: issuesText(parsed.error) });
        return;
      }
      const problem =
        itemProblem(schema, parsed.data.content, parsed.data.gold) ?? imageProblem(parsed.data.content, settings);
      if (problem) {
        rejected.push({ index, id, reason: problem });
        return;
      }
      if (seen.has(parsed.data.id)) {
        rejected.push({ index, id, reason: `id ${parsed.data.id} appears twice in this upload` });
        return;
      }
      seen.add(parsed.data.id);
      good.push({
        index,
        id: parsed.data.id,
        content: JSON.stringify(parsed.data.content),
        gold: parsed.data.gold ? JSON.stringify(parsed.data.gold) : null,
      });
    });
    if (good.length === 0) continue;
    const rows = await db.query<{ external_id: string }>(
      `insert into project_items (project_id, external_id, content, gold_answer)
       select $1, e, c, g from unnest($2::text[], $3::text[], $4::text[]) as t(e, c, g)
       on conflict (project_id, external_id) do nothing returning external_id`,
      [projectId, good.map((item) => item.id), good.map((item) => item.content), good.map((item) => item.gold)],
    );
    added += rows.length;
    const inserted = new Set(rows.map((row) => row.external_id));
    for (const item of good) {
      if (!inserted.has(item.id))
        rejected.push({ index: item.index, id: item.id, reason: `id ${item.id} is already in this project` });
    }
  }
  rejected.sort((a, b) => a.index - b.index);
  return { added, rejected };
}

/** Refuses an upload of more items than one request may carry, before any of them is parsed or checked. */
function checkItemCount(count: number): void {
  if (count > maxItemsPerRequest) throw new BaseError('bad_request', tooManyItems(count));
}

/**
 * Parses a JSON array or JSONL body of items; a line that is not JSON becomes a rejected item.
 * Throws (400) when it holds more than `maxItemsPerRequest` items, counted before any is parsed.
 */
export function parseItemUpload(
  body: unknown,
  contentType: string | undefined,
): { items: unknown[]; unreadable: RejectedItem[] } {
  if (Array.isArray(body)) {
    checkItemCount(body.length);
    return { items: body, unreadable: [] };
  }
  if (typeof body === 'object' && body !== null && Array.isArray((body as { items?: unknown }).items)) {
    const items = (body as { items: unknown[] }).items;
    checkItemCount(items.length);
    return { items, unreadable: [] };
  }
  if (typeof body === 'string' || contentType?.includes('ndjson') || contentType?.includes('jsonl')) {
    const lines = String(body).split(/\r?\n/);
    checkItemCount(lines.reduce((count, line) => (line.trim() === '' ? count : count + 1), 0));
    const items: unknown[] = [];
    const unreadable: RejectedItem[] = [];
    lines.forEach((line, lineIndex) => {
      if (line.trim() === '') return;
      try {
        items.push(JSON.parse(line));
      } catch (error) {
        unreadable.push({
          // The item's place among the upload's items, as every other rejection counts it (blank lines are none).
          index: items.length,
          id: null,
          reason: `line ${lineIndex + 1} is not JSON: ${(error as Error).message}`,
        });
        items.push(undefined);
      }
    });
    return { items, unreadable };
  }
  return {
    items: [],
    unreadable: [{ index: 0, id: null, reason: 'send a JSON array of items, {"items": [...]}, or JSONL' }],
  };
}

export function projectService(db: Database, settings: Pick<ScrapingSettings, 'testOrigins'>) {
  /** Each labeler's left/right tendency over each pairwise project's labels, from the recorded order. */
  const pairwiseBias = async (projectIds: readonly string[]) => {
    const byProject = new Map<string, NonNullable<Project['progress']['positionBias']>>();
    if (projectIds.length === 0) return byProject;
    const rows = await db.query<{
      project_id: string;
      device: string;
      item_id: string;
      value: string;
      shown_left: 'a' | 'b';
    }>(
      `select project_id::text as project_id, device, item_id::text as item_id, value, shown_left from labels
        where project_id = any($1::uuid[]) and shown_left is not null`,
      [projectIds],
    );
    const keys = await pseudonymKeys(db, 'projects', projectIds);
    for (const projectId of projectIds) {
      const labels = rows
        .filter((row) => row.project_id === projectId)
        .map((row) => ({
          worker: row.device,
          item: row.item_id,
          a: `${row.item_id}:a`,
          b: `${row.item_id}:b`,
          preferred: (JSON.parse(row.value) as { preferred: 'a' | 'b' | 'tie' }).preferred,
          shownLeft: row.shown_left,
        }));
      const key = keys.get(projectId) ?? '';
      byProject.set(
        projectId,
        positionBias(labels).map((bias) => ({
          labeler: contributorPseudonym(key, bias.worker),
          decisive: bias.decisive,
          leftShare: bias.leftShare,
          biased: bias.biased,
        })),
      );
    }
    return byProject;
  };

  /**
   * Project records with their progress for any number of projects in a fixed number of queries
   * (grouped counts, and one read of the pairwise projects' labels), never one query per project.
   */
  const withProgress = async (rows: readonly ProjectRow[]): Promise<Project[]> => {
    if (rows.length === 0) return [];
    const ids = rows.map((row) => row.id);
    const counts = await db.query<{
      project_id: string;
      items: number;
      gold_items: number;
      complete: number;
      complete_work: number;
      labels: number;
      labelers: number;
      agreement: number | null;
    }>(
      `with items as (
         select project_id, count(*) filter (where gold_answer is null)::int as items,
                count(*) filter (where gold_answer is not null)::int as gold_items,
                count(*) filter (where complete)::int as complete,
                count(*) filter (where gold_answer is null and complete)::int as complete_work
           from project_items where project_id = any($1::uuid[]) group by project_id),
       labeled as (
         select project_id, count(*)::int as labels, count(distinct device)::int as labelers
           from labels where project_id = any($1::uuid[]) group by project_id),
       agreed as (
         select project_id, avg(confidence)::float8 as agreement
           from aggregated_labels where project_id = any($1::uuid[]) group by project_id)
       select p.id::text as project_id, coalesce(i.items, 0) as items, coalesce(i.gold_items, 0) as gold_items,
              coalesce(i.complete, 0) as complete, coalesce(i.complete_work, 0) as complete_work,
              coalesce(l.labels, 0) as labels, coalesce(l.labelers, 0) as labelers, a.agreement
         from unnest($1::uuid[]) as p(id)
         left join items i on i.project_id = p.id
         left join labeled l on l.project_id = p.id
         left join agreed a on a.project_id = p.id`,
      [ids],
    );
    const schemas = new Map(rows.map((row) => [row.id, labelSchemaSchema.parse(JSON.parse(row.label_schema))]));
    const bias = await pairwiseBias(ids.filter((id) => schemas.get(id)?.type === 'pairwise'));
    return rows.map((row) => {
      const count = counts.find((entry) => entry.project_id === row.id);
      const labelSchema = schemas.get(row.id) as LabelSchema;
      const items = count?.items ?? 0;
      return {
        id: row.id,
        name: row.name,
        instructions: row.instructions,
        labelSchema,
        overlap: row.overlap,
        goldRate: row.gold_rate,
        examples: examplesOf(row.examples),
        createdAt: row.created_at.toISOString(),
        // Complete is derived: every (non-gold) item has its labels. Items added later make it active again.
        state: row.state === 'active' && items > 0 && (count?.complete_work ?? 0) === items ? 'complete' : row.state,
        progress: {
          items,
          goldItems: count?.gold_items ?? 0,
          itemsComplete: count?.complete ?? 0,
          labels: count?.labels ?? 0,
          labelers: count?.labelers ?? 0,
          agreement: count?.agreement ?? null,
          positionBias: labelSchema.type === 'pairwise' ? (bias.get(row.id) ?? []) : null,
          aggregation: aggregationOf(row.aggregation),
        },
      };
    });
  };

  return {
    async create(
      buyerId: string,
      input: {
        name: string;
        instructions: string;
        labelSchema: LabelSchema;
        overlap: number;
        goldRate: number;
        examples?: ProjectExample[] | undefined;
        items: unknown[];
      },
    ): Promise<ProjectCreated> {
      const examples = input.examples ?? [];
      checkExamples(input.labelSchema, examples, settings);
      const id = randomUUID();
      await db.query(
        `insert into projects (id, buyer_id, name, instructions, label_schema, overlap, gold_rate, examples)
         values ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb)`,
        [
          id,
          buyerId,
          input.name,
          input.instructions,
          JSON.stringify(input.labelSchema),
          input.overlap,
          input.goldRate,
          examples.length > 0 ? JSON.stringify(examples) : null,
        ],
      );
      const result = await insertItems(db, id, input.labelSchema, input.items, settings);
      const project = await this.get(buyerId, id);
      if (!project) throw new Error('project vanished after insert');
      return { project, ...result };
    },

    async addItems(buyerId: string, projectId: string, items: readonly unknown[]) {
      const rows = await db.query<ProjectRow>(
        `select ${projectColumns} from projects where id = $1 and buyer_id = $2`,
        [projectId, buyerId],
      );
      const row = rows[0];
      if (!row) return undefined;
      if (row.state === 'cancelled') {
        throw new BaseError('conflict', `Project ${projectId} is cancelled: it takes no more items.`, {
          details: { state: 'cancelled' },
        });
      }
      const schema = labelSchemaSchema.parse(JSON.parse(row.label_schema));
      return insertItems(db, projectId, schema, items, settings);
    },

    /**
     * Each labeler of the project: labels given, gold record and standing (the rule payments use, from
     * labeler-quality.ts), and agreement with the aggregate; undefined when the project is not theirs.
     */
    async labelers(buyerId: string, projectId: string): Promise<ProjectLabelers | undefined> {
      const owned = await db.query('select 1 from projects where id = $1 and buyer_id = $2', [projectId, buyerId]);
      if (owned.length === 0) return undefined;
      const labels = await db.query<{ device: string; value: string; aggregate: string | null }>(
        `select l.device, l.value, a.label as aggregate
           from labels l left join aggregated_labels a on a.item_id = l.item_id
          where l.project_id = $1 and not l.is_gold`,
        [projectId],
      );
      const devices = [...new Set(labels.map((label) => label.device))];
      const gold = await db.query<{ device: string; answered: number; correct: number }>(
        `select device, count(*)::int as answered, count(*) filter (where gold_correct)::int as correct
           from labels where is_gold and device = any($1::text[]) group by device`,
        [devices],
      );
      const goldOf = new Map(gold.map((row) => [row.device, { answered: row.answered, correct: row.correct }]));
      const tally = new Map<string, { labels: number; compared: number; agreed: number }>();
      for (const label of labels) {
        const entry = tally.get(label.device) ?? { labels: 0, compared: 0, agreed: 0 };
        entry.labels += 1;
        if (label.aggregate !== null) {
          entry.compared += 1;
          // The aggregate is a label key (a choice, sorted choices, a preferred answer, spans): compare keys.
          const value = labelValueSchema.safeParse(JSON.parse(label.value));
          if (value.success && labelKey(value.data) === label.aggregate) entry.agreed += 1;
        }
        tally.set(label.device, entry);
      }
      const pseudonym = await pseudonymsFor(db, 'projects', projectId);
      return {
        labelers: [...tally.entries()]
          .map(([device, entry]) => {
            const record = goldOf.get(device) ?? { answered: 0, correct: 0 };
            return {
              labeler: pseudonym(device),
              labels: entry.labels,
              goldAnswered: record.answered,
              goldCorrect: record.correct,
              goldAccuracy: goldAccuracy(record),
              counted: isInGoodStanding(record),
              compared: entry.compared,
              agreement: entry.compared > 0 ? entry.agreed / entry.compared : null,
            };
          })
          .sort((a, b) => b.labels - a.labels || a.labeler.localeCompare(b.labeler)),
      };
    },

    /** Items after an item id with their aggregate and raw labels; undefined when the project is not theirs. */
    async labels(
      buyerId: string,
      projectId: string,
      query: { after: number; limit: number },
    ): Promise<ProjectLabels | undefined> {
      const owned = await db.query('select 1 from projects where id = $1 and buyer_id = $2', [projectId, buyerId]);
      if (owned.length === 0) return undefined;
      const items = await db.query<{
        id: number;
        external_id: string;
        content: string;
        gold: boolean;
        complete: boolean;
        label: string | null;
        confidence: number | null;
        method: 'ds' | 'mv' | 'bt' | null;
      }>(
        `select i.id::float8 as id, i.external_id, i.content, i.gold_answer is not null as gold, i.complete,
                a.label, a.confidence, a.method
           from project_items i left join aggregated_labels a on a.item_id = i.id
          where i.project_id = $1 and i.id > $2 order by i.id limit $3`,
        [projectId, query.after, query.limit],
      );
      const raw = await db.query<{ item_id: number; device: string; value: string; labeled_at: Date }>(
        `select item_id::float8 as item_id, device, value, labeled_at from labels
          where item_id = any($1::bigint[]) order by id`,
        [items.map((item) => item.id)],
      );
      const pseudonym = await pseudonymsFor(db, 'projects', projectId);
      return {
        items: items.map((item) => ({
          id: item.external_id,
          content: itemContentSchema.parse(JSON.parse(item.content)),
          gold: item.gold,
          complete: item.complete,
          aggregate:
            item.label === null || item.method === null
              ? null
              : { label: item.label, confidence: item.confidence ?? 0, method: item.method },
          labels: raw
            .filter((label) => label.item_id === item.id)
            .map((label) => ({
              labeler: pseudonym(label.device),
              value: labelValueSchema.parse(JSON.parse(label.value)),
              labeledAt: label.labeled_at.toISOString(),
            })),
        })),
        next: items.length === query.limit ? (items.at(-1)?.id ?? null) : null,
      };
    },

    async get(buyerId: string, projectId: string): Promise<Project | undefined> {
      const rows = await db.query<ProjectRow>(
        `select ${projectColumns} from projects where id = $1 and buyer_id = $2`,
        [projectId, buyerId],
      );
      return (await withProgress(rows))[0];
    },

    /** The buyer's projects, newest first, keyset paged by (created_at, id). */
    async list(buyerId: string, query: BuyerListQuery): Promise<ProjectList> {
      const page = await listNewestFirst<ProjectRow>(db, 'projects', projectColumns, { buyerId, ...query });
      return { projects: await withProgress(page.rows), next: page.next };
    },

    /**
     * Pauses, resumes or cancels a buyer's project and returns it; undefined when it is not theirs.
     * Paused and cancelled projects hand out no task (task-lease-service.ts reads the state); tasks
     * already out may still be labeled, and those labels are kept and paid: a cancelled project's items
     * count as complete, and cancelling queues its aggregation, which pays the labels they have.
     * Pausing or resuming twice is harmless; a cancelled project stays cancelled (409 to resume or pause it).
     */
    async control(buyerId: string, projectId: string, action: ProjectAction): Promise<Project | undefined> {
      // One transaction: a cancel is never kept without the aggregation that pays its labels.
      const state = await db.transaction(async (tx) => {
        const changed = await changeWorkState(tx, 'projects', { id: projectId, buyerId, action });
        if (changed === 'cancelled') await enqueueAggregation(tx, [projectId]);
        return changed;
      });
      if (state === null) return undefined;
      return this.get(buyerId, projectId);
    },
  };
}
