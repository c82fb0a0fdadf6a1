import { BaseError } from '@protocol/errors';
import type { ResultBatchAck } from '@protocol/results';
import type { GleanerDb } from './db';
import { toErrorBody } from './errors';
import { logger } from './logger';
import { type AckSummary, applyAcks, nextBatch } from './outbox';
import { readSettings, type UploadRetry, writeSettings } from './settings';

/** First wait after a failed upload, doubled at each further failure up to the maximum. */
export const uploadBackoffBaseMs = 5_000;
export const uploadBackoffMaxMs = 10 * 60_000;

/**
 * Exponential back-off with "equal jitter": half the exponential delay for sure, the other half
 * random, so devices that failed together do not all come back at the same moment.
 */
export function uploadBackoffMs(failures: number, random: () => number): number {
  const exponential = Math.min(uploadBackoffMaxMs, uploadBackoffBaseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random());
}

export interface UploadDeps {
  db: GleanerDb;
  uploadResults: (batchId: string, results: readonly unknown[]) => Promise<ResultBatchAck>;
  now: () => number;
  random: () => number;
  newBatchId: () => string;
}

export interface UploadReport extends AckSummary {
  batches: number;
  /** Why the upload stopped before the outbox was empty: waiting out a back-off, or a failure now. */
  stopped: 'backoff' | 'failed' | null;
}

/**
 * Whether a stored back-off still holds. One caused by an unreachable server ends as soon as the
 * server answered anything since (the heartbeat reached it), so queued results go out at once.
 */
function isWaiting(retry: UploadRetry | null, lastContactAt: number | null, now: number): boolean {
  if (!retry || now >= retry.nextAttemptAt) return false;
  return !(retry.unreachable && lastContactAt !== null && lastContactAt > retry.failedAt);
}

/** The last upload started on each database: the next one waits for it. */
const uploadsInFlight = new WeakMap<GleanerDb, Promise<unknown>>();

/**
 * Uploads the outbox batch by batch until it is empty or an upload fails. A failed upload (no
 * answer, or an error answer) keeps every row and its batch id, and stores the next attempt time,
 * growing exponentially with jitter; a successful one clears it.
 *
 * Uploads of one database run one after the other: the scraping burst and a label submission may
 * both ask at once, and two at once would send the same unacknowledged batch twice concurrently.
 */
export function uploadOutbox(deps: UploadDeps): Promise<UploadReport> {
  const previous = uploadsInFlight.get(deps.db) ?? Promise.resolve();
  const run = previous.catch(() => {}).then(() => uploadOutboxNow(deps));
  uploadsInFlight.set(deps.db, run);
  return run;
}

async function uploadOutboxNow(deps: UploadDeps): Promise<UploadReport> {
  const report: UploadReport = { batches: 0, accepted: 0, duplicate: 0, rejected: 0, unanswered: 0, stopped: null };
  const settings = await readSettings(deps.db);
  let retry = settings.uploadRetry;
  if (isWaiting(retry, settings.connection.lastContactAt, deps.now())) return { ...report, stopped: 'backoff' };

  for (;;) {
    const batch = await nextBatch(deps.db, deps.newBatchId);
    if (!batch) break;
    let answer: ResultBatchAck;
    try {
      answer = await deps.uploadResults(
        batch.batchId,
        batch.rows.map((row) => row.payload),
      );
      if (answer.batchId !== batch.batchId) {
        throw new BaseError(
          'server_rejected',
          `The server answered for batch ${answer.batchId}, not ${batch.batchId}.`,
        );
      }
    } catch (error) {
      const failures = (retry?.failures ?? 0) + 1;
      const now = deps.now();
      const body = toErrorBody(error);
      retry = {
        failures,
        failedAt: now,
        nextAttemptAt: now + uploadBackoffMs(failures, deps.random),
        unreachable: body.code === 'server_unreachable',
        message: body.message,
      };
      logger.warn(`Uploading ${batch.rows.length} results failed (attempt ${failures}): ${body.message}`);
      await writeSettings(deps.db, { uploadRetry: retry });
      return { ...report, stopped: 'failed' };
    }
    const summary = await applyAcks(deps.db, batch, answer, deps.now);
    report.batches += 1;
    report.accepted += summary.accepted;
    report.duplicate += summary.duplicate;
    report.rejected += summary.rejected;
    report.unanswered += summary.unanswered;
    if (retry) {
      retry = null;
      await writeSettings(deps.db, { uploadRetry: null });
    }
    // Rows the server skipped would come straight back: leave them for the next round.
    if (summary.unanswered > 0) break;
  }
  return report;
}
