import { BaseError } from '@protocol/errors';
import type { labelResultSchema } from '@protocol/labeling';
import type { ResultBatchAck, ScrapeResult } from '@protocol/results';
import Dexie from 'dexie';
import type { z } from 'zod';
import type { GleanerDb, OutboxRow } from './db';
import type { NewFetchLogRow } from './fetch-log';
import { logger } from './logger';
import { keptLabelRejections, readSettings, writeSettings } from './settings';

/** A label (or a skip) as it goes in a result batch. */
export type LabelRecord = z.output<typeof labelResultSchema>;

/** A batch holds at most this many results… */
export const maxBatchResults = 50;
/** …and about this many bytes of JSON before gzip (one larger result still goes alone). */
export const maxBatchBytes = 2_000_000;

/**
 * Stores a job's result before anything else happens to it: the outbox row, its fetch log row and
 * the removal of the job, in one transaction, so a worker killed at any point either still has the
 * job or already has the result, never neither and never both.
 */
export async function storeResult(
  db: GleanerDb,
  result: ScrapeResult,
  log: NewFetchLogRow,
  createdAt: number,
): Promise<void> {
  await db.transaction('rw', db.outbox, db.fetchLog, db.jobs, async () => {
    await db.outbox.add({ kind: 'scrape', createdAt, payload: result, batchId: '' });
    await db.fetchLog.add(log);
    await db.jobs.delete(result.assignmentId);
  });
}

/**
 * Stores a label (or a skip) before anything else happens to it: the outbox row and the removal of
 * its task from the queue, in one transaction, so the task is never labeled twice nor lost. Fails
 * with `not_found` when the task is no longer queued (labeled already, or expired and dropped).
 */
export async function storeLabel(db: GleanerDb, label: LabelRecord, createdAt: number): Promise<void> {
  await db.transaction('rw', db.outbox, db.tasks, async () => {
    if (!(await db.tasks.get(label.assignmentId))) {
      throw new BaseError('not_found', 'This task is no longer in the queue: it was answered already or it expired.');
    }
    await db.outbox.add({ kind: 'label', createdAt, payload: label, batchId: '' });
    await db.tasks.delete(label.assignmentId);
  });
}

export interface OutboxBatch {
  batchId: string;
  /** In the order they are sent: acks refer to this order. */
  rows: OutboxRow[];
}

/**
 * The next batch to upload, scrape results and labels alike, oldest first. A batch sent before and not yet acknowledged comes first, with the
 * same rows in the same order under the same id, so the server recognises a retry; otherwise the
 * oldest results not yet sent get a new id, which is stored with them before they are sent.
 */
export async function nextBatch(db: GleanerDb, newBatchId: () => string): Promise<OutboxBatch | null> {
  return db.transaction('rw', db.outbox, async () => {
    const unacknowledged = await db.outbox.where('batchId').above('').first();
    if (unacknowledged) {
      const { batchId } = unacknowledged;
      const rows = await db.outbox
        .where('[batchId+seq]')
        .between([batchId, Dexie.minKey], [batchId, Dexie.maxKey])
        .toArray();
      return { batchId, rows };
    }
    const candidates = await db.outbox
      .where('[batchId+seq]')
      .between(['', Dexie.minKey], ['', Dexie.maxKey])
      .limit(maxBatchResults)
      .toArray();
    const rows: OutboxRow[] = [];
    let size = 0;
    for (const row of candidates) {
      const bytes = JSON.stringify(row.payload).length;
      if (rows.length > 0 && size + bytes > maxBatchBytes) break;
      rows.push(row);
      size += bytes;
    }
    if (rows.length === 0) return null;
    const batchId = newBatchId();
    await db.outbox
      .where('seq')
      .anyOf(rows.map((row) => row.seq))
      .modify({ batchId });
    return { batchId, rows: rows.map((row) => ({ ...row, batchId })) };
  });
}

export interface AckSummary {
  accepted: number;
  duplicate: number;
  rejected: number;
  /** Rows the answer said nothing about: they stay, to go in a new batch. */
  unanswered: number;
}

function assignmentIdOf(row: OutboxRow): string | null {
  const payload = row.payload as { assignmentId?: unknown } | null;
  return typeof payload?.assignmentId === 'string' ? payload.assignmentId : null;
}

/**
 * Applies the server's answer to a batch: each acknowledged row (accepted, duplicate or rejected)
 * leaves the outbox; a rejection's reason is kept for the person to read, on the fetch log row of
 * its lease for a scrape, in the settings' recent refused labels for a label (task and scrape
 * lease ids are numbered apart, so a label's id must not touch the fetch log). A row without a
 * matching ack stays and loses its batch id, so it is sent again in a new batch.
 */
export async function applyAcks(
  db: GleanerDb,
  batch: OutboxBatch,
  answer: ResultBatchAck,
  now: () => number = Date.now,
): Promise<AckSummary> {
  const summary: AckSummary = { accepted: 0, duplicate: 0, rejected: 0, unanswered: 0 };
  const acks = new Map(answer.acks.map((ack) => [ack.index, ack]));
  await db.transaction('rw', db.outbox, db.fetchLog, db.settings, async () => {
    for (const [index, row] of batch.rows.entries()) {
      const ack = acks.get(index);
      const assignmentId = assignmentIdOf(row);
      if (!ack || (ack.assignmentId !== null && ack.assignmentId !== assignmentId)) {
        summary.unanswered += 1;
        await db.outbox.update(row.seq, { batchId: '' });
        continue;
      }
      await db.outbox.delete(row.seq);
      summary[ack.status] += 1;
      if (ack.status !== 'rejected') continue;
      const reason = ack.reason ?? 'The server did not say why.';
      logger.warn(`The server rejected the ${row.kind} for ${assignmentId ?? 'an unknown lease'}: ${reason}`);
      if (row.kind === 'label') {
        const { labelRejections } = await readSettings(db);
        const refused = { assignmentId: assignmentId ?? '', reason, at: now() };
        await writeSettings(db, { labelRejections: [refused, ...labelRejections].slice(0, keptLabelRejections) });
      } else if (assignmentId !== null) {
        await db.fetchLog.where('assignmentId').equals(assignmentId).modify({ rejection: reason });
      }
    }
  });
  return summary;
}
