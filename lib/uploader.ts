import { BaseError } from '@protocol/errors';
import type { ResultBatchAck } from '@protocol/results';
import { isUnreadableServerAnswer, serverRetryAfterSecondsOf, serverStatusOf } from './api-client';
import { cleanRecord } from './clean-text';
import type { GleanerDb } from './db';
import { toErrorBody } from './errors';
import { logger } from './logger';
import { type AckSummary, applyAcks, moveToDeadLetters, nextBatch, splitBatch } from './outbox';
import { hasConsent, readSettings, type UploadRetry, writeSettings } from './settings';

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
  /** The server `uploadResults` sends to: each batch goes only while consent holds and it is still the one set. */
  serverUrl: string;
  uploadResults: (batchId: string, results: readonly unknown[]) => Promise<ResultBatchAck>;
  now: () => number;
  random: () => number;
  newBatchId: () => string;
}

export interface UploadReport extends AckSummary {
  batches: number;
  /** Records moved to the dead letters with a batch the server refused for good. */
  deadLettered: number;
  /** Batches split in two because the server found them too large. */
  split: number;
  /**
   * Why the upload stopped before the outbox was empty: waiting out a back-off, a failure now, or
   * consent withdrawn (or another server set) since it started.
   */
  stopped: 'backoff' | 'failed' | 'withdrawn' | null;
}

/**
 * Whether a stored back-off still holds. One caused by an unreachable server, or by a server that
 * no longer knew this device, ends as soon as the server answered anything since (the heartbeat
 * reached it, registering the device again if needed), so queued results go out at once. A wait
 * the server asked for (Retry-After) always runs its course.
 */
function isWaiting(retry: UploadRetry | null, lastContactAt: number | null, now: number): boolean {
  if (!retry || now >= retry.nextAttemptAt) return false;
  const endsOnContact = retry.unreachable || retry.code === 'device_unknown';
  return !(endsOnContact && lastContactAt !== null && lastContactAt > retry.failedAt);
}

/**
 * What a failed upload means for its batch. `too_large`: its size was refused (413, from the server
 * or a proxy before it); `malformed`: the server refused the batch as malformed (`bad_request`), or
 * answered 2xx with JSON that is not this batch's acknowledgement; both are final for these bytes.
 * Anything else (no answer, 5xx, 429 or 503, an authentication error, a page from something that is
 * not the server, such as a captive portal) is `transient`: the same batch goes again after a back-off.
 */
export function uploadFaultOf(error: unknown): 'too_large' | 'malformed' | 'transient' {
  if (!(error instanceof BaseError)) return 'transient';
  const status = serverStatusOf(error);
  if (error.code === 'payload_too_large' || status === 413) return 'too_large';
  if (error.code === 'bad_request') return 'malformed';
  if (status !== null && status >= 200 && status < 300 && isUnreadableServerAnswer(error)) return 'malformed';
  return 'transient';
}

/** The last upload started on each database: the next one waits for it. */
const uploadsInFlight = new WeakMap<GleanerDb, Promise<unknown>>();

/**
 * Uploads the outbox batch by batch until it is empty or an upload fails, so the queue always
 * moves: every acknowledged record leaves it (accepted, duplicate or rejected with its reason); a
 * batch the server finds too large is split in two, and a single record still too large, like a
 * batch refused as malformed, goes to the dead letters with the server's reason. Only a transient
 * failure keeps the batch (rows and id) and stops, storing the next attempt time: exponential with
 * jitter, and never before the server's Retry-After; a successful answer clears it.
 *
 * Every record is cleaned on its way out (NULs, unpaired surrogates), as a safety net for records
 * an older version queued.
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
  const report: UploadReport = {
    batches: 0,
    accepted: 0,
    duplicate: 0,
    rejected: 0,
    unanswered: 0,
    deadLettered: 0,
    split: 0,
    stopped: null,
  };
  const settings = await readSettings(deps.db);
  let retry = settings.uploadRetry;
  if (isWaiting(retry, settings.connection.lastContactAt, deps.now())) return { ...report, stopped: 'backoff' };
  const answered = async () => {
    if (!retry) return;
    retry = null;
    await writeSettings(deps.db, { uploadRetry: null });
  };

  for (;;) {
    // Read before every batch: a withdrawal during a long upload stops what has not gone yet (it stays queued).
    const current = await readSettings(deps.db);
    if (!hasConsent(current) || current.serverUrl !== deps.serverUrl) return { ...report, stopped: 'withdrawn' };
    const batch = await nextBatch(deps.db, deps.newBatchId, deps.now());
    if (!batch) break;
    let answer: ResultBatchAck;
    try {
      const records = await Promise.all(batch.rows.map((row) => cleanRecord(row.payload)));
      answer = await deps.uploadResults(batch.batchId, records);
      if (answer.batchId !== batch.batchId) {
        throw new BaseError(
          'server_rejected',
          `The server answered for batch ${answer.batchId}, not ${batch.batchId}.`,
          { details: { status: 200, fromServer: true } },
        );
      }
    } catch (error) {
      const body = toErrorBody(error);
      const fault = uploadFaultOf(error);
      if (fault === 'too_large' && batch.rows.length > 1) {
        logger.warn(`The server found a batch of ${batch.rows.length} results too large; sending it in halves.`);
        await splitBatch(deps.db, batch, deps.newBatchId);
        report.split += 1;
        await answered();
        continue;
      }
      if (fault !== 'transient') {
        logger.warn(`The server refused a batch of ${batch.rows.length} for good; set aside: ${body.message}`);
        // A 413 from a proxy in front of the server carries no code of ours: it is still a size refusal.
        const code = fault === 'too_large' ? 'payload_too_large' : body.code;
        await moveToDeadLetters(deps.db, batch, { code, message: body.message }, deps.now());
        report.deadLettered += batch.rows.length;
        await answered();
        continue;
      }
      const failures = (retry?.failures ?? 0) + 1;
      const now = deps.now();
      const askedMs = (serverRetryAfterSecondsOf(error) ?? 0) * 1000;
      retry = {
        failures,
        failedAt: now,
        nextAttemptAt: now + Math.max(uploadBackoffMs(failures, deps.random), askedMs),
        unreachable: body.code === 'server_unreachable',
        message: body.message,
        code: body.code,
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
    await answered();
    // Rows the server skipped would come straight back: leave them for the next round.
    if (summary.unanswered > 0) break;
  }
  return report;
}
