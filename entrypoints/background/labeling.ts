import { BaseError } from '@protocol/errors';
import type { LocalAccount } from 'viem';
import { createApiClient, serverRetryAfterSecondsOf } from '@/lib/api-client';
import { loadDeviceAccount } from '@/lib/device-key';
import { toErrorBody } from '@/lib/errors';
import { outcomeOfFailure } from '@/lib/fetch-log';
import { imageDataUrl } from '@/lib/fetcher/fetch-image';
import { answerProblem, type LabelAnswer } from '@/lib/label-answer';
import { type LabelingProjectsReply, type RecentLabelsReply, readRecentLabels } from '@/lib/labeling-views';
import { logger } from '@/lib/logger';
import type { NextTask, NoTaskReason, TaskImage } from '@/lib/messages';
import { type LabelRecord, storeLabel, undoLastLabel } from '@/lib/outbox';
import { hasConsent, readSettings, type Settings, writeSettings } from '@/lib/settings';
import { dropExpiredTasks, prefetchSize, queuedTasks, queueTasks, refillBelow } from '@/lib/task-queue';
import { uploadOutbox } from '@/lib/uploader';
import type { BackgroundContext } from './context';
import type { WorkDeps } from './work';

/**
 * How long a label waits in the outbox before it is sent: the time the labeler has to undo it. Short,
 * so labels still reach the server (and the standing updates) within seconds.
 */
export const labelUndoWindowMs = 5_000;

/**
 * What labeling needs beyond the background context: what uploads need, the guarded image fetcher,
 * and the undo window (`labelUndoWindowMs` unless a test sets it).
 */
export type LabelingContext = BackgroundContext &
  Pick<WorkDeps, 'random' | 'newBatchId' | 'fetchImage'> & { labelHoldMs?: number };

type RefillOutcome = 'leased' | 'none' | 'busy' | 'failed' | 'not-allowed';

export interface Labeling {
  /** The oldest queued task; refills the queue when it runs low. */
  nextTask(): Promise<NextTask>;
  /** Stores the label in the outbox, starts an upload and answers the next task. */
  submit(data: { assignmentId: string; answer: LabelAnswer }): Promise<NextTask>;
  /** Stores the skip in the outbox, starts an upload and answers the next task. */
  skip(data: { assignmentId: string }): Promise<NextTask>;
  /**
   * The image of a queued task, fetched under the page fetcher's guards and logged in the fetch
   * log, as a `data:` URL; or why it could not be loaded safely.
   */
  loadImage(data: { assignmentId: string }): Promise<TaskImage>;
  /**
   * Takes back the newest label if it was never sent (it then never reaches the server) and answers
   * its task again; `conflict`, in words, once it was sent.
   */
  undo(): Promise<NextTask>;
  /** The recent labels with their state, and until when the newest one can still be undone. */
  recentLabels(): Promise<RecentLabelsReply>;
  /** The projects with work for this labeler (from the server) and the one chosen. */
  projects(): Promise<LabelingProjectsReply>;
  /** Labels only this project from now on (null: any), and answers its next task. */
  chooseProject(data: { projectId: string | null }): Promise<NextTask>;
  /** Reads the labeler standing from the server into the settings (keeps the last one if it cannot). */
  refreshStanding(): Promise<void>;
  /** After each sync that left the device connected: drop expired tasks, send labels that waited. */
  onConnected(): Promise<void>;
  /** Resolves once the uploads, standing reads and refills started so far are done (for tests). */
  idle(): Promise<void>;
}

/** Runs `task` one at a time; a request while it runs makes one more run afterwards, which sees everything afresh. */
function serialized<T>(task: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    const run = (async () => {
      let result: T;
      do {
        again = false;
        result = await task();
      } while (again);
      return result;
    })().finally(() => {
      running = null;
    });
    running = run;
    return run;
  };
}

/**
 * Labeling in the background. Tasks are leased only on demand (the popup asks for one) and at most
 * `prefetchSize` ahead, because every lease holds an item away from other labelers for 15 minutes:
 * a device that keeps tasks leased while nobody labels would starve a project. Labels go to the
 * outbox first, then up through the same signed batches as scrape results, at once when the device
 * is connected and otherwise with the next sync's burst; the standing is re-read after each upload.
 */
export function createLabeling(ctx: LabelingContext): Labeling {
  const { db } = ctx;
  const holdMs = ctx.labelHoldMs ?? labelUndoWindowMs;
  const inFlight = new Set<Promise<unknown>>();
  const track = <T>(promise: Promise<T>): Promise<T> => {
    inFlight.add(promise);
    promise.finally(() => inFlight.delete(promise)).catch(() => {});
    return promise;
  };

  /**
   * The signed client when the device may talk to the server now: consent, connected. A pause stops
   * page fetching only: labeling uses no bandwidth to speak of and goes on while paused.
   */
  const connectedApi = async (): Promise<{ settings: Settings; api: ReturnType<typeof createApiClient> } | null> => {
    const settings = await readSettings(db);
    if (!hasConsent(settings) || settings.connection.state !== 'connected') {
      return null;
    }
    const account: LocalAccount | null = await loadDeviceAccount();
    if (!account || settings.connection.deviceAddress !== account.address) return null;
    await ctx.prepareNetwork?.(settings.serverUrl);
    return { settings, api: createApiClient({ serverUrl: settings.serverUrl, account, fetch: ctx.fetch }) };
  };

  /** Writes only while consent holds and the server is the one read from: a withdrawal wins. */
  const stillAllowed = async (serverUrl: string) => {
    const settings = await readSettings(db);
    return hasConsent(settings) && settings.serverUrl === serverUrl;
  };

  const refill = serialized(async (): Promise<RefillOutcome> => {
    await dropExpiredTasks(db, ctx.now());
    const { labelingProjectId } = await readSettings(db);
    // Tasks of another project (leased before the labeler chose) neither count nor are shown; they run out.
    const queued = (await db.tasks.toArray()).filter((row) => inChosenProject(row.task, labelingProjectId)).length;
    if (queued >= refillBelow) return 'leased';
    const connected = await connectedApi();
    if (!connected) return 'not-allowed';
    const { nextTaskLeaseAt } = connected.settings;
    if (nextTaskLeaseAt !== null && nextTaskLeaseAt > ctx.now()) return 'busy';
    try {
      const tasks = await connected.api.leaseTasks(prefetchSize - queued, labelingProjectId);
      if (tasks.length > 0 && (await stillAllowed(connected.settings.serverUrl))) {
        await queueTasks(db, tasks, ctx.now());
      }
      return tasks.length > 0 ? 'leased' : 'none';
    } catch (error) {
      logger.warn(`Could not lease labeling tasks: ${toErrorBody(error).message}`);
      // A busy server's Retry-After is kept, so neither this worker nor a restarted one asks before it ends.
      const seconds = serverRetryAfterSecondsOf(error);
      if (seconds === null) return 'failed';
      if (await stillAllowed(connected.settings.serverUrl)) {
        await writeSettings(db, { nextTaskLeaseAt: ctx.now() + seconds * 1000 });
      }
      return 'busy';
    }
  });

  const readStanding = async (connected: NonNullable<Awaited<ReturnType<typeof connectedApi>>>) => {
    try {
      const standing = await connected.api.getLabelerStanding();
      if (await stillAllowed(connected.settings.serverUrl)) {
        await writeSettings(db, { labelerStanding: { ...standing, fetchedAt: ctx.now() } });
      }
    } catch (error) {
      logger.warn(`Could not read the labeling standing: ${toErrorBody(error).message}`);
    }
  };

  /** The points summary counts labels too (and names refused check answers): keep the popup's copy in step. */
  const readPoints = async (connected: NonNullable<Awaited<ReturnType<typeof connectedApi>>>) => {
    try {
      const points = await connected.api.getPoints();
      if (await stillAllowed(connected.settings.serverUrl)) {
        await writeSettings(db, { points: { ...points, fetchedAt: ctx.now() } });
      }
    } catch (error) {
      logger.warn(`Could not read the points: ${toErrorBody(error).message}`);
    }
  };

  const uploadLabels = serialized(async () => {
    const connected = await connectedApi();
    if (!connected) return;
    const report = await uploadOutbox({
      db,
      serverUrl: connected.settings.serverUrl,
      uploadResults: connected.api.uploadResults,
      now: ctx.now,
      random: ctx.random,
      newBatchId: ctx.newBatchId,
    });
    if (report.stopped !== null) return;
    // The standing first: it is what the labeler waits to see after a submission.
    await readStanding(connected);
    await readPoints(connected);
  });
  const requestUpload = () => {
    track(uploadLabels()).catch((error) => logger.error('Uploading labels failed.', error));
  };

  const noTask = (noTaskReason: NoTaskReason): NextTask => ({ task: null, queued: 0, noTaskReason });

  /** Images loaded lately, by assignment: reopening the popup shows them again without a new request. */
  const images = new Map<string, Promise<TaskImage>>();
  const keptImages = 3;

  async function fetchTaskImage(assignmentId: string): Promise<TaskImage> {
    const refused = (reason: string): TaskImage => ({ status: 'refused', reason });
    const settings = await readSettings(db);
    if (!hasConsent(settings)) return refused('Gleaner has no consent to fetch anything.');
    const row = await db.tasks.get(assignmentId);
    if (!row) return refused('This task is no longer in the queue.');
    if (row.task.content.type !== 'image') return refused('This task has no image.');
    const url = row.task.content.imageUrl;
    // The network rules (Chrome) and the request guard (Firefox) must be in place before any request.
    await ctx.prepareNetwork?.(settings.serverUrl);
    const fetched = await ctx.fetchImage(url);
    const at = ctx.now();
    const log = { kind: 'image' as const, at, url, assignmentId: null, rejection: null };
    if (!fetched.ok) {
      const { failure } = fetched;
      await db.fetchLog.add({
        ...log,
        status: failure.httpStatus,
        bytes: fetched.bytesFetched,
        outcome: outcomeOfFailure(failure.code),
        reason: `${failure.code}: ${failure.detail}`,
      });
      logger.info(`The image of task ${assignmentId} was not loaded: ${failure.detail}`);
      return refused(failure.detail);
    }
    await db.fetchLog.add({
      ...log,
      status: fetched.httpStatus,
      bytes: fetched.bytes.byteLength,
      outcome: 'ok',
      reason: null,
    });
    return { status: 'loaded', dataUrl: imageDataUrl(fetched.mediaType, fetched.bytes) };
  }

  async function nextTask(): Promise<NextTask> {
    const settings = await readSettings(db);
    if (!hasConsent(settings)) return noTask('no-consent');
    const shownTasks = async () =>
      (await queuedTasks(db, ctx.now())).filter((task) => inChosenProject(task, settings.labelingProjectId));
    let tasks = await shownTasks();
    let outcome: RefillOutcome | null = null;
    if (tasks.length < refillBelow) {
      const refilling = track(refill());
      // With tasks left the labeler goes on while the queue refills; with none, wait for the server.
      if (tasks.length === 0) {
        outcome = await refilling;
        tasks = await shownTasks();
      } else {
        refilling.catch((error) => logger.error('Refilling the task queue failed.', error));
      }
    }
    const [task, ...rest] = tasks;
    if (task) return { task, queued: rest.length, noTaskReason: null };
    return noTask(outcome === 'none' ? 'none' : outcome === 'busy' ? 'busy' : 'offline');
  }

  async function store(label: LabelRecord): Promise<NextTask> {
    const settings = await readSettings(db);
    if (!hasConsent(settings)) {
      throw new BaseError('bad_request', 'Gleaner has no consent to send labels. Agree in the settings first.');
    }
    const now = ctx.now();
    await storeLabel(db, label, now, now + holdMs);
    if (holdMs > 0) {
      // Sent once its undo window has passed; a worker stopped before then sends it with the next sync.
      setTimeout(requestUpload, holdMs + 250);
    } else requestUpload();
    return nextTask();
  }

  return {
    nextTask,

    async submit({ assignmentId, answer }) {
      const row = await db.tasks.get(assignmentId);
      if (row) {
        const problem = answerProblem(row.task, answer);
        if (problem) throw new BaseError('bad_request', problem);
      }
      const labeledAt = new Date(ctx.now()).toISOString();
      return store({ kind: 'label', assignmentId, labeledAt, skipped: false, answer });
    },

    skip({ assignmentId }) {
      return store({ kind: 'label', assignmentId, labeledAt: new Date(ctx.now()).toISOString(), skipped: true });
    },

    loadImage({ assignmentId }) {
      const known = images.get(assignmentId);
      if (known) return known;
      const loading = fetchTaskImage(assignmentId);
      images.set(assignmentId, loading);
      // Only a loaded image is kept (a refusal may not hold next time), and only the last few.
      loading
        .then((image) => {
          if (image.status !== 'loaded') images.delete(assignmentId);
          for (const key of [...images.keys()].slice(0, Math.max(0, images.size - keptImages))) images.delete(key);
        })
        .catch(() => images.delete(assignmentId));
      return loading;
    },

    async undo() {
      const task = await undoLastLabel(db);
      logger.info(`Label for task ${task.assignmentId} undone before it was sent.`);
      return nextTask();
    },

    recentLabels: () => readRecentLabels(db),

    async projects() {
      const settings = await readSettings(db);
      const reply = (projects: LabelingProjectsReply['projects'], unavailable: string | null) => ({
        projects,
        chosenProjectId: settings.labelingProjectId,
        unavailable,
      });
      const connected = await connectedApi();
      if (!connected) return reply([], 'Gleaner is not connected to the server, so it cannot list projects now.');
      try {
        return reply((await connected.api.listLabelingProjects()).projects, null);
      } catch (error) {
        const { message } = toErrorBody(error);
        logger.warn(`Could not list the labeling projects: ${message}`);
        return reply([], `The projects could not be listed: ${message}`);
      }
    },

    async chooseProject({ projectId }) {
      await writeSettings(db, { labelingProjectId: projectId });
      return nextTask();
    },

    async refreshStanding() {
      const connected = await connectedApi();
      if (connected) await readStanding(connected);
    },

    onConnected() {
      return track(
        (async () => {
          await dropExpiredTasks(db, ctx.now());
          if ((await db.outbox.where('kind').equals('label').count()) > 0) requestUpload();
        })(),
      );
    },

    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}

/** Whether a task belongs to the chosen project (any, when none is chosen). */
function inChosenProject(task: { projectId: string }, projectId: string | null): boolean {
  return projectId === null || task.projectId === projectId;
}
