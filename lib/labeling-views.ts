import { labelingProjectsSchema } from '@protocol/labeling';
import { z } from 'zod';
import type { GleanerDb } from './db';
import { readSettings } from './settings';

/**
 * What the labeling view shows besides the task: the recent labels with their state, and the
 * projects to choose from. Schemas of the background's replies (lib/messages.ts).
 */

/**
 * A recent label as the view shows it. `queued`: waiting in the outbox, never sent, so it can be
 * undone; `sending`: in an upload the server has not answered yet (it may have arrived, so no
 * undo); then the server's verdict, or set aside with a batch the server refused whole.
 */
const shownRecentLabelSchema = z.object({
  assignmentId: z.string(),
  projectName: z.string(),
  labeledAt: z.number(),
  summary: z.string(),
  state: z.enum(['queued', 'sending', 'accepted', 'duplicate', 'rejected', 'set-aside']),
  reason: z.string().nullable(),
});
export type ShownRecentLabel = z.infer<typeof shownRecentLabelSchema>;

export const recentLabelsReplySchema = z.object({
  labels: z.array(shownRecentLabelSchema),
  /** Until when (ms since 1970) the newest label waits before it is sent, if it still can be undone. */
  undoableUntil: z.number().nullable(),
});
export type RecentLabelsReply = z.infer<typeof recentLabelsReplySchema>;

export const labelingProjectsReplySchema = labelingProjectsSchema.extend({
  /** The project the labeler chose; null for any. */
  chosenProjectId: z.string().nullable(),
  /** Null when the list came from the server; else why it could not be read, in words. */
  unavailable: z.string().nullable(),
});
export type LabelingProjectsReply = z.infer<typeof labelingProjectsReplySchema>;

/**
 * The recent labels with their state: the verdict kept for each, and for those still in the outbox
 * whether a batch holds them yet. Read by the background's reply and, live, by the labeling page.
 */
export async function readRecentLabels(db: GleanerDb): Promise<RecentLabelsReply> {
  const { recentLabels } = await readSettings(db);
  const waiting = new Map<string, { batchId: string; sentBefore: boolean; holdUntil: number }>();
  for (const row of await db.outbox.where('kind').equals('label').toArray()) {
    const assignmentId = (row.payload as { assignmentId?: unknown } | null)?.assignmentId;
    if (typeof assignmentId !== 'string') continue;
    waiting.set(assignmentId, {
      batchId: row.batchId,
      sentBefore: row.sentBefore ?? false,
      holdUntil: row.holdUntil ?? row.createdAt,
    });
  }
  const labels = recentLabels.map((entry): ShownRecentLabel => {
    if (entry.state !== 'waiting') return { ...entry, state: entry.state };
    const row = waiting.get(entry.assignmentId);
    // Out of the outbox with no verdict kept, or in a batch: it went up (or is going up) to the server.
    const state = row && row.batchId === '' && !row.sentBefore ? 'queued' : 'sending';
    return { ...entry, state };
  });
  const newest = labels[0];
  const undoableUntil = newest?.state === 'queued' ? (waiting.get(newest.assignmentId)?.holdUntil ?? null) : null;
  return { labels, undoableUntil };
}
