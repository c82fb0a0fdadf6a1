import { BaseError, type ErrorCode } from '@protocol/errors';
import type { LeasedTask, labelResultSchema } from '@protocol/labeling';
import type { ResultBatchAck, ScrapeResult } from '@protocol/results';
import Dexie from 'dexie';
import type { z } from 'zod';
import type { GleanerDb, OutboxRow } from './db';
import type { NewFetchLogRow } from './fetch-log';
import { logger } from './logger';
import { keptLabelRejections, keptRecentLabels, type RecentLabel, readSettings, writeSettings } from './settings';
import { describeDeadLetter, describeVerdict } from './verdicts';

/** A label (or a skip) as it goes in a result batch. */
export type LabelRecord = z.output<typeof labelResultSchema>;

/** A batch holds at most this many results… */
export const maxBatchResults = 50;
/**
 * …and about this many bytes of JSON (UTF-8) before gzip; one larger result still goes alone. The
 * server refuses a body over 32 MB once inflated: one result at the format's limits (5 MB of text
 * plus the page's kept HTML, capped by the job's byte limit) stays well under it.
 */
export const maxBatchBytes = 2_000_000;

/** The UTF-8 length of a string, without encoding it. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i += 1) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i += 1;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/** How many bytes a record takes in the JSON body of a batch. */
export function recordBytes(payload: unknown): number {
  return utf8Length(JSON.stringify(payload) ?? '');
}

/**
 * Stores a job's result before anything else happens to it: the outbox row, its fetch log row and
 * the removal of the job, in one transaction, so a worker killed at any point either still has the
 * job or already has the result, never neither and never both. A job no longer stored was deleted
 * with the person's local data while it was being fetched: its result is dropped, not logged (the
 * server takes the lease back when it runs out).
 */
export async function storeResult(
  db: GleanerDb,
  result: ScrapeResult,
  log: NewFetchLogRow,
  createdAt: number,
): Promise<void> {
  await db.transaction('rw', db.outbox, db.fetchLog, db.jobs, async () => {
    if (!(await db.jobs.get(result.assignmentId))) return;
    await db.outbox.add({ kind: 'scrape', createdAt, payload: result, batchId: '' });
    await db.fetchLog.add(log);
    await db.jobs.delete(result.assignmentId);
  });
}

/** A label's answer in a few words, for the list of recent labels. */
export function describeLabel(label: LabelRecord): string {
  if (label.skipped || !label.answer) return 'skipped';
  const { answer } = label;
  switch (answer.type) {
    case 'single_choice':
      return answer.choice;
    case 'multi_choice':
      return answer.choices.length === 0 ? 'none of them' : answer.choices.join(', ');
    case 'pairwise':
      return answer.preferred === 'tie' ? 'a tie' : `the ${answer.preferred} answer`;
    case 'spans':
      return answer.spans.length === 0
        ? 'nothing to mark'
        : `${answer.spans.length} span${answer.spans.length === 1 ? '' : 's'}`;
  }
}

/** Changes the state of some recent labels, by assignment id. Call inside a transaction over `settings`. */
async function updateRecentLabels(
  db: GleanerDb,
  changes: ReadonlyMap<string, Pick<RecentLabel, 'state' | 'reason'>>,
): Promise<void> {
  if (changes.size === 0) return;
  const { recentLabels } = await readSettings(db);
  if (!recentLabels.some((entry) => changes.has(entry.assignmentId))) return;
  await writeSettings(db, {
    recentLabels: recentLabels.map((entry) => ({ ...entry, ...changes.get(entry.assignmentId) })),
  });
}

/**
 * Stores a label (or a skip) before anything else happens to it: the outbox row (with its task, and
 * the time before which it is held back so it can be undone), the removal of its task from the
 * queue, and its entry among the recent labels, in one transaction, so the task is never labeled
 * twice nor lost. Fails with `not_found` when the task is no longer queued (labeled already, or
 * expired and dropped).
 */
export async function storeLabel(
  db: GleanerDb,
  label: LabelRecord,
  createdAt: number,
  holdUntil: number = createdAt,
): Promise<void> {
  await db.transaction('rw', [db.outbox, db.tasks, db.settings], async () => {
    const queued = await db.tasks.get(label.assignmentId);
    if (!queued) {
      throw new BaseError('not_found', 'This task is no longer in the queue: it was answered already or it expired.');
    }
    await db.outbox.add({ kind: 'label', createdAt, payload: label, batchId: '', holdUntil, task: queued.task });
    await db.tasks.delete(label.assignmentId);
    const entry: RecentLabel = {
      assignmentId: label.assignmentId,
      projectName: queued.task.projectName,
      labeledAt: createdAt,
      summary: describeLabel(label).slice(0, 200),
      state: 'waiting',
      reason: null,
    };
    const { recentLabels } = await readSettings(db);
    const others = recentLabels.filter((known) => known.assignmentId !== label.assignmentId);
    await writeSettings(db, { recentLabels: [entry, ...others].slice(0, keptRecentLabels) });
  });
}

/**
 * Takes back the newest label (or skip) in the outbox, if it has never been sent: its row leaves the
 * outbox, its task goes back to the front of the queue (its lease still runs), and it leaves the
 * recent labels, in one transaction. The uploader gives rows a batch id in a transaction of its own
 * (`nextBatch`), so IndexedDB orders the two: a label is either taken back before any batch holds it,
 * and then is never sent, or it is in a batch, and then it cannot be undone (`conflict`).
 */
export async function undoLastLabel(db: GleanerDb): Promise<LeasedTask> {
  return db.transaction('rw', [db.outbox, db.tasks, db.settings], async () => {
    const { recentLabels } = await readSettings(db);
    const last = recentLabels[0];
    if (!last) throw new BaseError('not_found', 'There is no label to undo.');
    const rows = await db.outbox.where('kind').equals('label').toArray();
    const row = rows.find((candidate) => assignmentIdOf(candidate) === last.assignmentId);
    if (row?.batchId !== '' || row.sentBefore) {
      throw new BaseError(
        'conflict',
        'Your last label was already sent to the server, so it cannot be undone. Labels can be undone only until they are sent.',
        { details: { assignmentId: last.assignmentId } },
      );
    }
    if (!row.task) throw new BaseError('conflict', 'This label was stored by an older version and cannot be undone.');
    await db.outbox.delete(row.seq);
    // In front of the queue (which is ordered by lease time): the labeler answers it again first.
    const first = await db.tasks.orderBy('leasedAt').first();
    const leasedAt = Math.min(first ? first.leasedAt - 1 : row.createdAt, row.createdAt);
    await db.tasks.put({
      assignmentId: row.task.assignmentId,
      leasedAt: Math.max(0, leasedAt),
      expiresAt: Date.parse(row.task.expiresAt),
      task: row.task,
    });
    await writeSettings(db, { recentLabels: recentLabels.slice(1) });
    return row.task;
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
 * oldest results not yet sent get a new id, which is stored with them before they are sent. Labels
 * held back until after `now` (their undo window) are left for later.
 */
export async function nextBatch(
  db: GleanerDb,
  newBatchId: () => string,
  now: number = Number.POSITIVE_INFINITY,
): Promise<OutboxBatch | null> {
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
      // Labels still within their undo window wait for a later batch.
      .filter((row) => (row.holdUntil ?? 0) <= now)
      .limit(maxBatchResults)
      .toArray();
    const rows: OutboxRow[] = [];
    let size = 0;
    for (const row of candidates) {
      const bytes = recordBytes(row.payload);
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

/**
 * The rows of `batch` still in the outbox under its id. "Delete my local data" may empty the outbox
 * while a batch is in flight: what the server then answers about rows gone must bring none back
 * (no dead letter, no refusal reason). Outbox keys are never reused, so a row found is the same row.
 * Call inside a transaction over `outbox`.
 */
async function rowsStillQueued(db: GleanerDb, batch: OutboxBatch): Promise<Set<number>> {
  const stored = await db.outbox.bulkGet(batch.rows.map((row) => row.seq));
  return new Set(stored.filter((row) => row?.batchId === batch.batchId).map((row) => row?.seq as number));
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
 * Keeps why the server refused a row for the person to read: on the fetch log row of its lease for
 * a scrape, in the settings' recent refused labels for a label (task and scrape lease ids are
 * numbered apart, so a label's id must not touch the fetch log). Call inside a transaction over
 * `fetchLog` and `settings`.
 */
async function keepRefusal(db: GleanerDb, row: OutboxRow, reason: string, at: number): Promise<void> {
  const assignmentId = assignmentIdOf(row);
  logger.warn(`The server refused the ${row.kind} for ${assignmentId ?? 'an unknown lease'}: ${reason}`);
  if (row.kind === 'label') {
    const { labelRejections } = await readSettings(db);
    const refused = { assignmentId: assignmentId ?? '', reason, at };
    await writeSettings(db, { labelRejections: [refused, ...labelRejections].slice(0, keptLabelRejections) });
  } else if (assignmentId !== null) {
    await db.fetchLog.where('assignmentId').equals(assignmentId).modify({ rejection: reason });
  }
}

/**
 * Applies the server's answer to a batch: each acknowledged row (accepted, duplicate or rejected)
 * is settled and leaves the outbox; a rejection's code (in words) and reason are kept for the
 * person (see `keepRefusal`). A row without a matching ack stays and loses its batch id, so it is
 * sent again in a new batch.
 */
export async function applyAcks(
  db: GleanerDb,
  batch: OutboxBatch,
  answer: ResultBatchAck,
  now: () => number = Date.now,
): Promise<AckSummary> {
  const summary: AckSummary = { accepted: 0, duplicate: 0, rejected: 0, unanswered: 0 };
  const acks = new Map(answer.acks.map((ack) => [ack.index, ack]));
  const verdicts = new Map<string, Pick<RecentLabel, 'state' | 'reason'>>();
  await db.transaction('rw', db.outbox, db.fetchLog, db.settings, async () => {
    const queued = await rowsStillQueued(db, batch);
    for (const [index, row] of batch.rows.entries()) {
      if (!queued.has(row.seq)) continue;
      const ack = acks.get(index);
      const assignmentId = assignmentIdOf(row);
      if (!ack || (ack.assignmentId !== null && ack.assignmentId !== assignmentId)) {
        summary.unanswered += 1;
        // It went up once: the server may hold it, so it can no longer be undone.
        await db.outbox.update(row.seq, { batchId: '', ...(row.kind === 'label' ? { sentBefore: true } : {}) });
        continue;
      }
      await db.outbox.delete(row.seq);
      summary[ack.status] += 1;
      const reason = ack.status === 'rejected' ? describeVerdict(ack.code, ack.reason) : null;
      if (reason !== null) await keepRefusal(db, row, reason, now());
      if (row.kind === 'label' && assignmentId !== null) verdicts.set(assignmentId, { state: ack.status, reason });
    }
    await updateRecentLabels(db, verdicts);
  });
  return summary;
}

/** Why the server refused a whole batch for good. */
export interface BatchRefusal {
  code: ErrorCode;
  message: string;
}

/**
 * Moves a batch the server refused for good (malformed, or a single record still too large) from
 * the outbox to the dead letters, with the server's code and message, in one transaction; each of
 * its records also says why on its fetch log row (a scrape) or among the refused labels.
 */
export async function moveToDeadLetters(
  db: GleanerDb,
  batch: OutboxBatch,
  refusal: BatchRefusal,
  at: number,
): Promise<void> {
  await db.transaction('rw', [db.outbox, db.deadLetters, db.fetchLog, db.settings], async () => {
    const queued = await rowsStillQueued(db, batch);
    const rows = batch.rows.filter((row) => queued.has(row.seq));
    if (rows.length === 0) return;
    await db.deadLetters.add({
      at,
      batchId: batch.batchId,
      code: refusal.code,
      message: refusal.message,
      records: rows.map(({ kind, createdAt, payload }) => ({ kind, createdAt, payload })),
    });
    await db.outbox.bulkDelete(rows.map((row) => row.seq));
    const reason = describeDeadLetter(refusal.message);
    const setAside = new Map<string, Pick<RecentLabel, 'state' | 'reason'>>();
    for (const row of rows) {
      await keepRefusal(db, row, reason, at);
      const assignmentId = assignmentIdOf(row);
      if (row.kind === 'label' && assignmentId !== null) setAside.set(assignmentId, { state: 'set-aside', reason });
    }
    await updateRecentLabels(db, setAside);
  });
}

/**
 * Splits a batch the server found too large into two halves, each under a new batch id (the server
 * processed nothing of it, so no id it answered is dropped); both go up as the next batches, and a
 * half still too large is split again.
 */
export async function splitBatch(db: GleanerDb, batch: OutboxBatch, newBatchId: () => string): Promise<void> {
  const half = Math.ceil(batch.rows.length / 2);
  await db.transaction('rw', db.outbox, async () => {
    for (const part of [batch.rows.slice(0, half), batch.rows.slice(half)]) {
      if (part.length === 0) continue;
      const batchId = newBatchId();
      await db.outbox
        .where('seq')
        .anyOf(part.map((row) => row.seq))
        .modify({ batchId });
    }
  });
}
