import { z } from 'zod';
import { isoDateSchema } from './primitives';

/** The life of a work item: queued (maybe waiting for `runAt`), running under a lease, then done or failed for good. */
export const workItemStateSchema = z.enum(['queued', 'running', 'done', 'failed']);
export type WorkItemState = z.infer<typeof workItemStateSchema>;

/** One item of the server's durable work queue, as operators see it (`GET /v1/admin/jobs`). */
export const workItemSchema = z.object({
  id: z.string().regex(/^\d+$/),
  /** What work it is (`aggregate_project`, `settle_labels`, …). */
  kind: z.string(),
  /** What it works on (a project id, …): one queued and one running item per kind and key at most. */
  key: z.string(),
  payload: z.unknown(),
  state: workItemStateSchema,
  /** When it is due (queued), or was last due. */
  runAt: isoDateSchema,
  attempts: z.number().int().min(0),
  maxAttempts: z.number().int().min(1),
  /** Why the last attempt failed, kept after a later success too. */
  lastError: z.string().nullable(),
  /** Which server process holds it while it runs (and, once finished, which ran it last), and until when its lease lasts. */
  lockedBy: z.string().nullable(),
  lockedUntil: isoDateSchema.nullable(),
  createdAt: isoDateSchema,
  updatedAt: isoDateSchema,
  finishedAt: isoDateSchema.nullable(),
});
export type WorkItem = z.infer<typeof workItemSchema>;

/** Query of `GET /v1/admin/jobs`: newest first, optionally one state and one kind. */
export const workItemListQuerySchema = z.object({
  state: workItemStateSchema.optional(),
  kind: z.string().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type WorkItemListQuery = z.infer<typeof workItemListQuerySchema>;

/** Answer of `GET /v1/admin/jobs`: the items asked for, and how many items are in each state (of that kind, if given). */
export const workItemListSchema = z.object({
  counts: z.object({
    queued: z.number().int(),
    running: z.number().int(),
    done: z.number().int(),
    failed: z.number().int(),
  }),
  items: z.array(workItemSchema),
});
export type WorkItemList = z.infer<typeof workItemListSchema>;

/**
 * Answer of `POST /v1/admin/jobs/:id/retry`: the item that will run. That is the failed item itself, queued
 * again with fresh attempts, unless the same work was queued since (`alreadyQueued`): then that item is due now.
 */
export const workItemRetrySchema = z.object({
  item: workItemSchema,
  alreadyQueued: z.boolean(),
});
export type WorkItemRetry = z.infer<typeof workItemRetrySchema>;
