import { BaseError, type ErrorBody, errorBodySchema } from '@protocol/errors';
import { leasedTaskSchema } from '@protocol/labeling';
import { devicePointsByDayQuerySchema, devicePointsByDaySchema } from '@protocol/points';
import { browser } from 'wxt/browser';
import { z } from 'zod';
import { toErrorBody } from './errors';
import { labelAnswerSchema } from './label-answer';
import { labelingProjectsReplySchema, recentLabelsReplySchema } from './labeling-views';
import { logger } from './logger';
import { connectionSchema, consentSchema, dailyBudgetBytesSchema, serverUrlSchema } from './settings';
import { shownDeviceWalletSchema, shownLinkCodeSchema } from './wallet-link';

/** What the background reports about itself: the settings it acts on and its link to the server. */
const statusSchema = z.object({
  serverUrl: z.string(),
  dailyBudgetBytes: z.number(),
  consent: consentSchema,
  pausedUntil: z.number().nullable(),
  connection: connectionSchema,
  extensionVersion: z.string(),
});
export type Status = z.infer<typeof statusSchema>;

/**
 * Why there is no task to show: no consent, paused, cannot reach the server, it asked to wait
 * (429 or 503 with Retry-After: until the settings' `nextTaskLeaseAt`), or it has none now.
 */
const noTaskReasons = ['no-consent', 'paused', 'offline', 'busy', 'none'] as const;
export type NoTaskReason = (typeof noTaskReasons)[number];

/** The task to show next, from the queue of leased tasks, with how many more wait behind it. */
const nextTaskSchema = z.object({
  task: leasedTaskSchema.nullable(),
  /** Tasks queued behind this one. */
  queued: z.number().int().nonnegative(),
  /** Null when there is a task. */
  noTaskReason: z.enum(noTaskReasons).nullable(),
});
export type NextTask = z.infer<typeof nextTaskSchema>;

const assignmentIdSchema = z.string().min(1).max(64);

/**
 * The image of a labeling task, as the background fetched it under the page fetcher's guards: a
 * `data:` URL of a raster image (never a remote address, which the popup must not load), or why not.
 */
const taskImageSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('loaded'),
    dataUrl: z.string().regex(/^data:image\/(png|jpeg|gif|webp|avif);base64,[A-Za-z0-9+/]*={0,2}$/),
  }),
  z.object({ status: z.literal('refused'), reason: z.string() }),
]);
export type TaskImage = z.infer<typeof taskImageSchema>;

/**
 * The one map of messages the popup and options pages send to the background: each has the
 * schema of its data (checked by the background) and of its reply (checked by the page).
 */
const messageMap = {
  /** The current status, without doing anything. */
  getStatus: { data: z.object({}), reply: statusSchema },
  /** Give (optionally with the server address to use) or withdraw consent. */
  setConsent: {
    data: z.object({ given: z.boolean(), serverUrl: serverUrlSchema.optional() }),
    reply: statusSchema,
  },
  /** Change some settings; a new server address reconnects at once. */
  saveSettings: {
    data: z.object({ serverUrl: serverUrlSchema.optional(), dailyBudgetBytes: dailyBudgetBytesSchema.optional() }),
    reply: statusSchema,
  },
  /** Pause until a time (ms since 1970), or resume with null. */
  pause: {
    data: z.object({ until: z.number().int().positive().nullable() }),
    reply: statusSchema,
  },
  /** Contact the server now instead of waiting for the next alarm. */
  syncNow: { data: z.object({}), reply: statusSchema },
  /**
   * A heartbeat now (the popup asks when it opens and while it stays open): offline at once if the
   * server does not answer, and back online with what waited uploaded at once when it does again.
   */
  checkConnection: { data: z.object({}), reply: statusSchema },
  /**
   * Read the points and the labeler standing from the server now (the popup asks when it opens);
   * keeps the last ones if it cannot.
   */
  refreshPoints: { data: z.object({}), reply: statusSchema },
  /**
   * The labeling task to show: the oldest queued one. Refills the queue when it runs low (waiting for
   * the server only when it is empty); nothing is leased without consent, while paused or offline.
   */
  getNextTask: { data: z.object({}), reply: nextTaskSchema },
  /** Stores a label in the outbox (first), uploads it at once when possible, and answers the next task. */
  submitLabel: {
    data: z.object({ assignmentId: assignmentIdSchema, answer: labelAnswerSchema }),
    reply: nextTaskSchema,
  },
  /** Skips a task (the server gives its item to someone else) and answers the next one. */
  skipTask: { data: z.object({ assignmentId: assignmentIdSchema }), reply: nextTaskSchema },
  /**
   * Loads the image of a queued labeling task through the background's guarded fetcher (the popup
   * never requests the buyer's image address itself) and logs the fetch.
   */
  loadTaskImage: { data: z.object({ assignmentId: assignmentIdSchema }), reply: taskImageSchema },
  /** Deletes uploads the server refused for good (dead letters); answers how many were deleted. */
  deleteDeadLetters: {
    data: z.object({ ids: z.array(z.number().int().positive()).min(1).max(10_000) }),
    reply: z.object({ deleted: z.number().int().nonnegative() }),
  },
  /** Asks the server for a one-time code that links this device to a wallet on the console. */
  createLinkCode: { data: z.object({}), reply: shownLinkCodeSchema },
  /** Reads from the server which wallet this device's points go to, and since when. */
  getDeviceWallet: { data: z.object({}), reply: shownDeviceWalletSchema },
  /** Reads this device's points (by state) and labels per day from the server, in the person's time zone. */
  getPointsByDay: { data: devicePointsByDayQuerySchema, reply: devicePointsByDaySchema },
  /** Deletes the local history and queued work (and with `resetDevice` the device key); see lib/history-delete.ts. */
  deleteLocalData: {
    data: z.object({ resetDevice: z.boolean() }),
    reply: z.object({
      /** Rows deleted per table (fetch log, queued uploads, leased jobs and tasks, refused uploads, …). */
      deleted: z.record(z.string(), z.number().int().nonnegative()),
      /** Whether the device key went too: the next connection registers a new device. */
      deviceReset: z.boolean(),
    }),
  },
  /** Takes back the newest label if it was never sent, and answers its task again (`conflict` once sent). */
  undoLabel: { data: z.object({}), reply: nextTaskSchema },
  /** The labeler's recent labels with their state (queued, sending, or the server's verdict). */
  getRecentLabels: { data: z.object({}), reply: recentLabelsReplySchema },
  /** The projects with work for this labeler, from the server, and the one chosen. */
  getLabelingProjects: { data: z.object({}), reply: labelingProjectsReplySchema },
  /** Labels only this project from now on (null: any project with work), and answers its next task. */
  chooseProject: { data: z.object({ projectId: z.uuid().nullable() }), reply: nextTaskSchema },
} satisfies Record<string, { data: z.ZodType; reply: z.ZodType }>;

export type MessageType = keyof typeof messageMap;
/** What a page passes when sending. */
export type MessageInput<K extends MessageType> = z.input<(typeof messageMap)[K]['data']>;
/** What the handler receives, after validation. */
type MessageData<K extends MessageType> = z.output<(typeof messageMap)[K]['data']>;
export type MessageReply<K extends MessageType> = z.output<(typeof messageMap)[K]['reply']>;
export type MessageHandlers = { [K in MessageType]: (data: MessageData<K>) => Promise<MessageReply<K>> };

/** How a reply crosses the message channel; errors travel as their body and are rebuilt on arrival. */
export type Reply<T = unknown> = { ok: true; data: T } | { ok: false; error: ErrorBody };

const envelopeSchema = z.object({
  type: z.enum(Object.keys(messageMap) as [MessageType, ...MessageType[]]),
  data: z.unknown(),
});

const replySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), data: z.unknown() }),
  z.object({ ok: z.literal(false), error: errorBodySchema }),
]);

/**
 * The background's side: validates a raw message, runs its handler and always resolves to a
 * Reply (never throws), so every failure reaches the page as words it can show.
 */
export async function handleMessage(handlers: MessageHandlers, message: unknown): Promise<Reply> {
  try {
    const envelope = envelopeSchema.parse(message);
    const type = envelope.type;
    const data = messageMap[type].data.parse(envelope.data ?? {});
    const handler = handlers[type] as (data: unknown) => Promise<unknown>;
    return { ok: true, data: await handler(data) };
  } catch (error) {
    const body = toErrorBody(error);
    logger.warn('A message to the background failed.', { message, error: body, cause: error });
    return { ok: false, error: body };
  }
}

/** The pages' side: sends a message to the background and returns its validated reply, or throws a BaseError. */
export async function sendMessage<K extends MessageType>(type: K, data: MessageInput<K>): Promise<MessageReply<K>> {
  let raw: unknown;
  try {
    raw = await browser.runtime.sendMessage({ type, data });
  } catch (cause) {
    throw new BaseError('internal_error', 'Gleaner’s background worker did not answer. Try again in a moment.', {
      cause,
    });
  }
  const reply = replySchema.safeParse(raw);
  if (!reply.success) {
    throw new BaseError('internal_error', 'Gleaner’s background worker answered with something unexpected.', {
      details: { issues: reply.error.issues },
    });
  }
  if (!reply.data.ok) throw BaseError.fromBody(reply.data.error);
  return messageMap[type].reply.parse(reply.data.data) as MessageReply<K>;
}
