import type { LeasedJob } from '@protocol/jobs';
import { createApiClient, serverRetryAfterSecondsOf } from '@/lib/api-client';
import type { JobRow } from '@/lib/db';
import { ensureDeviceAccount } from '@/lib/device-key';
import { toErrorBody } from '@/lib/errors';
import { totalsForToday } from '@/lib/fetch-log';
import type { ImageFetch } from '@/lib/fetcher/fetch-image';
import { logger } from '@/lib/logger';
import { storeResult } from '@/lib/outbox';
import { type ScrapeJobDeps, scrapeJob } from '@/lib/scrape-job';
import { hasConsent, isPaused, readSettings, type Settings, writeSettings } from '@/lib/settings';
import { uploadOutbox } from '@/lib/uploader';
import type { BackgroundContext } from './context';

/** What the scraping burst needs beyond the background context; tests pass fakes. */
export interface WorkDeps extends Omit<ScrapeJobDeps, 'now'> {
  /** Fetches a labeling task's image for the popup under the page fetcher's guards (labeling uses it). */
  fetchImage: (url: string) => Promise<ImageFetch>;
  /** Brings the network guards in line with the server address before anything is fetched. */
  prepareNetwork: (serverUrl: string) => Promise<void>;
  /** Frees what a burst held (Chrome: the offscreen document). */
  release: () => Promise<void>;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  newBatchId: () => string;
}

export type WorkContext = BackgroundContext & WorkDeps;

/** Jobs asked for per lease (the server gives at most one per site per call). */
const leaseSize = 5;
/** The longest wait for the server's retryAfterSeconds inside a burst; longer waits end it, and the alarm resumes. */
export const maxInBurstWaitMs = 20_000;
/** A burst stops leasing after this long; the next alarm starts a fresh one. */
export const maxBurstMs = 5 * 60_000;
/** Points are re-read after uploads at most this often (and at the end of every burst). */
const pointsRefreshMs = 10_000;

function mayWork(settings: Settings, now: number): boolean {
  return hasConsent(settings) && !isPaused(settings, now) && settings.connection.state === 'connected';
}

function jobRowOf(job: LeasedJob, now: number): JobRow {
  return {
    id: job.assignmentId,
    jobId: job.jobId,
    url: job.url,
    state: 'leased',
    keepRawHtml: job.keepRawHtml,
    collectLinks: job.collectLinks,
    maxBytes: job.maxBytes,
    timeoutMs: job.timeoutMs,
    leasedAt: now,
    leaseExpiresAt: Date.parse(job.leaseExpiresAt),
  };
}

/**
 * One burst of scraping, run after each successful sync: upload what waits in the outbox, finish
 * the jobs already leased, then lease, fetch and upload in rounds while the server has jobs,
 * waiting in-process for short retryAfterSeconds and leaving longer waits to the next alarm (a 429
 * or 503's Retry-After is kept the same way, so the lease is not asked again before it ends). Every
 * step is kept in IndexedDB first (leased jobs before fetching, results before uploading), so a
 * worker killed at any point resumes where it stood. Consent, pause and the daily budget are
 * checked before every lease and every fetch.
 */
export async function runBurst(ctx: WorkContext): Promise<void> {
  const { db } = ctx;
  const startedAt = ctx.now();
  const initial = await readSettings(db);
  if (!mayWork(initial, startedAt)) return;
  const serverUrl = initial.serverUrl;
  await ctx.prepareNetwork(serverUrl);
  const api = createApiClient({ serverUrl, account: await ensureDeviceAccount(), fetch: ctx.fetch });
  let pointsReadAt = 0;

  const stillMayWork = async () => {
    const settings = await readSettings(db);
    return mayWork(settings, ctx.now()) && settings.serverUrl === serverUrl ? settings : null;
  };
  const refreshPoints = async () => {
    // No request whose answer would be dropped: after a withdrawal (or pause) the burst ends without one.
    if (!(await stillMayWork())) return;
    try {
      const points = await api.getPoints();
      pointsReadAt = ctx.now();
      if (await stillMayWork()) await writeSettings(db, { points: { ...points, fetchedAt: pointsReadAt } });
    } catch (error) {
      logger.warn(`Could not read the points: ${toErrorBody(error).message}`);
    }
  };
  const upload = async () => {
    if (!(await stillMayWork())) return;
    const report = await uploadOutbox({
      db,
      serverUrl,
      uploadResults: api.uploadResults,
      now: ctx.now,
      random: ctx.random,
      newBatchId: ctx.newBatchId,
    });
    if (report.batches > 0 && ctx.now() - pointsReadAt >= pointsRefreshMs) await refreshPoints();
  };
  const overBudget = async (settings: Settings) =>
    (await totalsForToday(db, ctx.now())).bytes >= settings.dailyBudgetBytes;

  /** Fetches every stored job in lease order; false when consent, pause or the budget stopped it. */
  const doStoredJobs = async (): Promise<boolean> => {
    const jobs = (await db.jobs.toArray()).sort((a, b) => a.leasedAt - b.leasedAt);
    for (const job of jobs) {
      const settings = await stillMayWork();
      if (!settings) return false;
      if (await overBudget(settings)) {
        logger.info('Today’s budget is used up; the remaining jobs wait for tomorrow or expire.');
        return false;
      }
      if (job.leaseExpiresAt <= ctx.now()) {
        // The server has taken the job back (and may lease it to this device again): drop it.
        logger.info(`The lease of ${job.url} ran out before it was fetched; dropped.`);
        await db.jobs.delete(job.id);
        continue;
      }
      await db.jobs.update(job.id, { state: 'fetching' });
      const { result, log } = await scrapeJob(job, ctx);
      await storeResult(db, result, log, ctx.now());
    }
    return true;
  };

  try {
    await upload();
    await refreshPoints();
    for (;;) {
      if (!(await doStoredJobs())) break;
      await upload();
      const settings = await stillMayWork();
      if (!settings || (await overBudget(settings))) break;
      const now = ctx.now();
      if (now - startedAt >= maxBurstMs) break;
      if (settings.nextLeaseAt !== null && settings.nextLeaseAt > now) {
        const wait = settings.nextLeaseAt - now;
        if (wait > maxInBurstWaitMs) break;
        await ctx.sleep(wait);
        continue;
      }
      let lease: Awaited<ReturnType<typeof api.leaseJobs>>;
      try {
        lease = await api.leaseJobs(leaseSize);
      } catch (error) {
        logger.warn(`Could not lease jobs: ${toErrorBody(error).message}`);
        // A busy server's Retry-After is kept, so no burst (nor a restarted worker) asks before it ends.
        const seconds = serverRetryAfterSecondsOf(error);
        if (seconds !== null && (await stillMayWork())) {
          await writeSettings(db, { nextLeaseAt: ctx.now() + seconds * 1000 });
        }
        break;
      }
      const leasedAt = ctx.now();
      if (lease.jobs.length === 0) {
        await writeSettings(db, { nextLeaseAt: leasedAt + Math.max(1, lease.retryAfterSeconds) * 1000 });
        continue;
      }
      await db.transaction('rw', db.jobs, db.settings, async () => {
        await db.jobs.bulkPut(lease.jobs.map((job) => jobRowOf(job, leasedAt)));
        await writeSettings(db, { nextLeaseAt: null });
      });
    }
    await upload();
    await refreshPoints();
  } finally {
    await ctx.release().catch((error) => logger.warn('Releasing after a burst failed.', error));
  }
}

/**
 * Runs one burst at a time; a request while one runs makes one more run afterwards, which reads
 * everything afresh (new consent, a new server, the end of a pause).
 */
export function createWorkRunner(ctx: WorkContext): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await runBurst(ctx).catch((error) => logger.error('A scraping burst failed.', error));
      } while (again);
    })().finally(() => {
      running = null;
    });
    return running;
  };
}
