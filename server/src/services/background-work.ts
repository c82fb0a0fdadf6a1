import { z } from 'zod';
import { buildDataset, buildDatasetKind } from '../datasets/dataset-build';
import type { DatasetSettings } from '../datasets/dataset-settings';
import type { Database, Queryable } from '../db/database';
import {
  enqueue,
  startWorkQueue,
  type WorkHandler,
  WorkInterrupted,
  type WorkLog,
  type WorkQueue,
} from '../queue/work-queue';
import { ThreadFailure } from '../threads/thread-pool';
import { aggregateProject } from './label-aggregation';
import type { AggregationPool } from './label-aggregation-pool';
import { settleLabels, settleLabelsKind } from './label-settlement';

/** The work item kind that re-aggregates a project and pays its labels (key: the project id). */
export const aggregateProjectKind = 'aggregate_project';

/** How this process takes part in the durable work queue, and the label settle window. */
export interface BackgroundWorkSettings {
  /** Work items this process runs at once; 0 makes it a process that only enqueues. */
  concurrency: number;
  /** How often an idle worker looks for due work (it is also kicked when labels arrive). */
  pollMs: number;
  /** How long a running item is held before another process may take it over; renewed while it runs. */
  leaseMs: number;
  /** How long an item's aggregate must keep its label before the item's labels are settled against it. */
  labelSettleMs: number;
  /**
   * The shortest time between the starts of two aggregations of one project: labels arriving sooner after a run
   * began wait for one run at the end of it, which takes them all; labels after a quiet spell run at once. 0: a
   * run per upload (tests).
   */
  aggregationIntervalMs: number;
}

export const defaultBackgroundWorkSettings: BackgroundWorkSettings = {
  concurrency: 2,
  pollMs: 1000,
  leaseMs: 60_000,
  labelSettleMs: 10 * 60_000,
  aggregationIntervalMs: 5000,
};

const envSchema = z.object({
  GLEANER_WORK_CONCURRENCY: z.coerce.number().int().min(0).max(64).optional(),
  GLEANER_WORK_POLL_MS: z.coerce.number().int().min(10).max(600_000).optional(),
  GLEANER_WORK_LEASE_SECONDS: z.coerce.number().int().min(5).max(3600).optional(),
  GLEANER_LABEL_SETTLE_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(7 * 86_400)
    .optional(),
  GLEANER_AGGREGATION_INTERVAL_MS: z.coerce.number().int().min(0).max(3_600_000).optional(),
});

/** Reads the background work settings from the environment; throws naming every bad variable. */
export function loadBackgroundWorkSettings(env: NodeJS.ProcessEnv): BackgroundWorkSettings {
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')));
  if (!parsed.success) {
    throw new Error(
      `Invalid environment:\n${parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n')}`,
    );
  }
  const value = parsed.data;
  const defaults = defaultBackgroundWorkSettings;
  return {
    concurrency: value.GLEANER_WORK_CONCURRENCY ?? defaults.concurrency,
    pollMs: value.GLEANER_WORK_POLL_MS ?? defaults.pollMs,
    leaseMs:
      value.GLEANER_WORK_LEASE_SECONDS === undefined ? defaults.leaseMs : value.GLEANER_WORK_LEASE_SECONDS * 1000,
    labelSettleMs:
      value.GLEANER_LABEL_SETTLE_SECONDS === undefined
        ? defaults.labelSettleMs
        : value.GLEANER_LABEL_SETTLE_SECONDS * 1000,
    aggregationIntervalMs: value.GLEANER_AGGREGATION_INTERVAL_MS ?? defaults.aggregationIntervalMs,
  };
}

const projectPayloadSchema = z.object({ projectId: z.uuid() });
const datasetPayloadSchema = z.object({ datasetId: z.uuid() });

/**
 * Enqueues the aggregation (and so the payment) of each project, in the caller's transaction: due at once, or,
 * when a run of the project began less than the aggregation interval ago, at the end of that interval (the
 * queue coalesces the uploads meanwhile into that one item, so a busy project is aggregated once per interval).
 */
export async function enqueueAggregation(tx: Queryable, projectIds: readonly string[]): Promise<void> {
  const ids = [...new Set(projectIds)].sort();
  if (ids.length === 0) return;
  const waits = new Map(
    (
      await tx.query<{ id: string; wait_ms: number }>(
        `select id::text as id,
                coalesce(greatest(0, ceil(extract(epoch from (aggregate_not_before - now())) * 1000)), 0)::int as wait_ms
           from projects where id = any($1::text[]::uuid[])`,
        [ids],
      )
    ).map((row) => [row.id, row.wait_ms]),
  );
  // In one order, so two transactions enqueueing the same projects take their rows' locks alike.
  for (const projectId of ids) {
    await enqueue(tx, aggregateProjectKind, projectId, { projectId }, { delayMs: waits.get(projectId) ?? 0 });
  }
}

/**
 * Marks a project's aggregation as started now: uploads until the interval has passed queue their run for
 * then. Its own statement before the run, so uploads during a long run see it.
 */
async function startAggregation(db: Database, projectId: string, intervalMs: number): Promise<void> {
  if (intervalMs <= 0) return;
  await db.query(
    `update projects set aggregate_not_before = now() + $2::int * interval '1 millisecond' where id = $1`,
    [projectId, intervalMs],
  );
}

/** Starts this process's worker with every kind of background work the server does. */
export function startBackgroundWork(
  db: Database,
  settings: BackgroundWorkSettings,
  datasets: DatasetSettings,
  log: WorkLog,
  /** The app's own fitting thread: closed with the app, after which a fit here fails as interrupted. */
  aggregationPool: AggregationPool,
): WorkQueue {
  const handlers: Record<string, WorkHandler> = {
    [aggregateProjectKind]: async (payload, { db }) => {
      const { projectId } = projectPayloadSchema.parse(payload);
      await startAggregation(db, projectId, settings.aggregationIntervalMs);
      try {
        await aggregateProject(db, projectId, { settleWindowMs: settings.labelSettleMs }, aggregationPool);
      } catch (error) {
        // The thread pool closed under the fit (shutdown): nothing was written; the next process runs it again.
        if (error instanceof ThreadFailure && error.reason === 'closed')
          throw new WorkInterrupted(error.message, { cause: error });
        throw error;
      }
    },
    [settleLabelsKind]: async (payload, { db, stopping }) => {
      const settled = await settleLabels(db, projectPayloadSchema.parse(payload).projectId, { stopping });
      // The chunks settled stay settled; the rest is left due for the next process.
      if (settled.stopped) throw new WorkInterrupted('the server is shutting down: settlement stopped between chunks');
    },
    [buildDatasetKind]: async (payload, { db, item, log }) => {
      await buildDataset(db, datasetPayloadSchema.parse(payload).datasetId, datasets, {
        attempt: item.attempt,
        maxAttempts: item.maxAttempts,
        log,
      });
    },
  };
  return startWorkQueue(db, handlers, {
    concurrency: settings.concurrency,
    pollMs: settings.pollMs,
    leaseMs: settings.leaseMs,
    log,
  });
}
