import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { BaseError } from '@protocol/errors';
import type { Database, Queryable } from '../db/database';

/** One claimed work item, as a handler sees it. */
export interface ClaimedItem {
  id: string;
  kind: string;
  key: string;
  payload: unknown;
  /** This run's attempt, counting from 1. */
  attempt: number;
  maxAttempts: number;
}

/**
 * Thrown by a handler whose run was cut short from outside, not by its work (the process shutting down): the
 * item goes back to the queue at once, and the attempt does not count toward its `maxAttempts`. Otherwise a
 * long item interrupted by a few deploys in a row would end `failed` without ever having failed.
 */
export class WorkInterrupted extends BaseError {
  override name = 'WorkInterrupted';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('internal_error', message, options);
  }
}

/** What the logger must offer (pino and Fastify's logger do). */
export interface WorkLog {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface WorkContext {
  item: ClaimedItem;
  db: Database;
  log: WorkLog;
  /**
   * True once the queue is stopping (shutdown). Work done in steps checks it between steps and throws
   * `WorkInterrupted`, keeping the steps it committed, so shutdown does not wait for the whole of it.
   */
  stopping: () => boolean;
}

/**
 * Does one item's work. It may run more than once for one item (a retry after a failure, or a takeover
 * after its worker's lease ran out), so it must be idempotent; it runs in its own transactions on `db`.
 */
export type WorkHandler = (payload: unknown, context: WorkContext) => Promise<void>;

export interface EnqueueOptions {
  /** When the work is due; now by default. Coalescing keeps the earlier of two due times. */
  runAt?: Date;
  /** Or: due this long after the database's now(). */
  delayMs?: number;
  /** Attempts before the item is left `failed`; 5 by default. */
  maxAttempts?: number;
}

/**
 * Enqueues work in the caller's transaction, so it commits or rolls back with the data that caused it.
 * Work already queued under the same (kind, key) coalesces with it: the first payload stays, and the
 * earlier due time wins unless the queued item is waiting out a retry back-off, which it keeps. Work that
 * is running now gets one more item, run after it, so nothing is missed.
 */
export async function enqueue(
  tx: Queryable,
  kind: string,
  key: string,
  payload: unknown = null,
  options: EnqueueOptions = {},
): Promise<void> {
  await tx.query(
    `insert into work_items (kind, key, payload, run_at, max_attempts)
     values ($1, $2, $3::text::jsonb, coalesce($4::timestamptz, now() + $5::int * interval '1 millisecond'), $6::int)
     on conflict (kind, key) where state = 'queued'
     do update set run_at = excluded.run_at, updated_at = now()
      where work_items.run_at > excluded.run_at and work_items.attempts = 0`,
    [
      kind,
      key,
      JSON.stringify(payload ?? null),
      options.runAt ? options.runAt.toISOString() : null,
      Math.max(0, Math.round(options.delayMs ?? 0)),
      options.maxAttempts ?? 5,
    ],
  );
}

export interface WorkQueueOptions {
  /** How often an idle worker looks for due items, in ms; 0: only when kicked (or drained). */
  pollMs: number;
  /** Items this process runs at once; 0 runs none (the process still enqueues). */
  concurrency: number;
  /** How long a claimed item is held; renewed every third of it while its handler runs. */
  leaseMs: number;
  /** First retry delay after a failure; each further failure doubles it, up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How long finished (`done`) items are kept for operators to see; `failed` ones are kept until retried. */
  keepDoneMs?: number;
  log: WorkLog;
}

export interface WorkQueue {
  /** Looks for due work now instead of at the next poll (after labels arrive, after a retry). */
  kick(): void;
  /**
   * Enqueues in a transaction of its own, in the background (for callers that cannot wait or hold a
   * transaction open); `drain` and `close` wait for it, and the worker is kicked once it commits.
   */
  enqueueInBackground(write: (tx: Queryable) => Promise<void>): void;
  /**
   * Runs work until nothing due is left that this process may run (items held by other processes and
   * items due later are not waited for). For tests and scripts; refused when this process runs none.
   */
  drain(): Promise<void>;
  /**
   * Stops claiming, at once; items running here go on. Shutdown calls it before it interrupts running work, so an
   * interrupted item (queued again, due now) is left to the next process instead of being claimed straight back.
   */
  stop(): void;
  /** Stops claiming and waits for the items running here and the background enqueues to finish. */
  close(): Promise<void>;
}

/** Retry delay after the `attempt`-th failure: exponential, capped, and jittered to between half and all of it. */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random) {
  const full = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(full / 2 + (random() * full) / 2);
}

interface ClaimedRow {
  id: string;
  kind: string;
  key: string;
  payload: string;
  attempts: number;
  max_attempts: number;
}

const maxErrorLength = 4000;

/**
 * Starts this process's worker: it claims due items of the kinds it has handlers for, at most
 * `concurrency` at once, with FOR UPDATE SKIP LOCKED and a lease, so any number of processes share
 * one queue and never run one item twice at once. A failure is retried with exponential back-off and
 * jitter up to the item's max attempts, then left `failed` with its error.
 */
export function startWorkQueue(
  db: Database,
  handlers: Readonly<Record<string, WorkHandler>>,
  options: WorkQueueOptions,
): WorkQueue {
  const { log, concurrency, leaseMs } = options;
  const retryBaseMs = options.retryBaseMs ?? 5000;
  const retryMaxMs = options.retryMaxMs ?? 3_600_000;
  const keepDoneMs = options.keepDoneMs ?? 7 * 86_400_000;
  const kinds = Object.keys(handlers);
  const workerId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const running = new Set<Promise<void>>();
  const enqueues = new Set<Promise<void>>();
  let closed = false;
  let pumping: Promise<void> | undefined;
  let pumpAgain = false;
  let lastPrune = 0;

  /** Claims due items until this process is at its concurrency or none is left. */
  const fill = async () => {
    while (!closed && running.size < concurrency) {
      const claimed = await claim(concurrency - running.size);
      if (claimed.length === 0) return;
      for (const row of claimed) {
        const run = execute(row).finally(() => {
          running.delete(run);
          void pump();
        });
        running.add(run);
      }
    }
  };

  /** One pass of `fill` at a time; a call during a pass asks for one more pass after it, never lost. */
  const pump = (): Promise<void> => {
    if (closed || concurrency <= 0) return Promise.resolve();
    if (pumping) {
      pumpAgain = true;
      return pumping;
    }
    pumping = (async () => {
      await pruneNow();
      do {
        pumpAgain = false;
        await fill();
      } while (pumpAgain && !closed);
    })()
      .catch((err: unknown) => log.warn({ err }, 'work queue: could not claim work'))
      .finally(() => {
        pumping = undefined;
        if (pumpAgain) void pump();
      });
    return pumping;
  };

  const claim = async (limit: number): Promise<ClaimedItem[]> => {
    // An item whose worker stopped answering after its last attempt is not tried again: it failed.
    await db.query(
      `update work_items set state = 'failed', finished_at = now(), updated_at = now(), locked_until = null,
              last_error = 'its worker (' || coalesce(locked_by, '?') || ') stopped before finishing its last attempt'
        where state = 'running' and locked_until < now() and attempts >= max_attempts and kind = any($1::text[])`,
      [kinds],
    );
    const rows = await db.query<ClaimedRow>(
      `with due as (
         select w.id from work_items w
          where w.kind = any($1::text[])
            and ((w.state = 'queued' and w.run_at <= now()
                  and not exists (select 1 from work_items r
                                   where r.kind = w.kind and r.key = w.key and r.state = 'running'))
              or (w.state = 'running' and w.locked_until < now()))
          order by w.run_at, w.id
          limit $2
          for update skip locked
       )
       update work_items w
          set last_error = case when w.state = 'running'
                                then 'its worker (' || coalesce(w.locked_by, '?') || ') stopped before finishing (lease ran out)'
                                else w.last_error end,
              state = 'running', attempts = w.attempts + 1, locked_by = $3,
              locked_until = now() + $4::int * interval '1 millisecond', updated_at = now()
         from due where w.id = due.id
       returning w.id::text as id, w.kind, w.key, w.payload::text as payload, w.attempts, w.max_attempts`,
      [kinds, limit, workerId, leaseMs],
    );
    return rows.map((row) => ({
      id: row.id,
      kind: row.kind,
      key: row.key,
      payload: JSON.parse(row.payload) as unknown,
      attempt: row.attempts,
      maxAttempts: row.max_attempts,
    }));
  };

  /** Fencing: only the worker holding this attempt of the item may renew, finish or fail it. */
  const mine = `id = $1 and state = 'running' and locked_by = $2 and attempts = $3`;

  const execute = async (item: ClaimedItem): Promise<void> => {
    const fence = [item.id, workerId, item.attempt];
    const renew = setInterval(
      () => {
        db.query(
          `update work_items set locked_until = now() + $4::int * interval '1 millisecond' where ${mine} returning 1`,
          [...fence, leaseMs],
        )
          .then((rows) => {
            if (rows.length === 0) log.warn({ item }, 'work queue: lost the lease of a running item');
          })
          .catch((err: unknown) => log.warn({ err, item }, 'work queue: could not renew a lease'));
      },
      Math.max(10, Math.floor(leaseMs / 3)),
    );
    renew.unref();
    try {
      let failed = false;
      let failure: unknown;
      try {
        const handler = handlers[item.kind];
        if (!handler) throw new Error(`no handler for work of kind ${item.kind}`);
        await handler(item.payload, { item, db, log, stopping: () => closed });
      } catch (error) {
        failed = true;
        failure = error;
      }
      clearInterval(renew);
      if (!failed) {
        const done = await db.query(
          `update work_items set state = 'done', finished_at = now(), updated_at = now(), locked_until = null
            where ${mine} returning 1`,
          fence,
        );
        if (done.length === 0) log.warn({ item }, 'work queue: finished an item whose lease another worker had taken');
        return;
      }
      await recordFailure(item, failure);
    } catch (err) {
      log.error({ err, item }, 'work queue: could not record the outcome of an item; its lease will run out');
    } finally {
      clearInterval(renew);
    }
  };

  const recordFailure = async (item: ClaimedItem, failure: unknown) => {
    const message = describeError(failure);
    const fence = [item.id, workerId, item.attempt];
    const interrupted = failure instanceof WorkInterrupted;
    const outcome = await db.transaction(async (tx) => {
      const held = await tx.query(`select 1 from work_items where ${mine} for update`, fence);
      if (held.length === 0) return 'lost' as const;
      if (interrupted) {
        // Back as it was before this run: the attempt is given back, and it is due at once.
        const attempts = item.attempt - 1;
        const folded = await tx.query(
          `update work_items set attempts = greatest(attempts, $3::int), last_error = $4,
                  run_at = least(run_at, now()), updated_at = now()
            where kind = $1 and key = $2 and state = 'queued' returning 1`,
          [item.kind, item.key, attempts, message],
        );
        if (folded.length > 0) await tx.query(`delete from work_items where ${mine}`, fence);
        else
          await tx.query(
            `update work_items set state = 'queued', attempts = $4, last_error = $5, locked_by = null,
                    locked_until = null, run_at = now(), updated_at = now() where ${mine}`,
            [...fence, attempts, message],
          );
        return 'interrupted' as const;
      }
      if (item.attempt >= item.maxAttempts) {
        await tx.query(
          `update work_items set state = 'failed', last_error = $4, finished_at = now(), updated_at = now(),
                  locked_until = null where ${mine}`,
          [...fence, message],
        );
        return 'failed' as const;
      }
      const delay = retryDelayMs(item.attempt, retryBaseMs, retryMaxMs);
      // The same work was enqueued again while this ran: fold this attempt into that item, which
      // takes over its attempt count, error and back-off.
      const folded = await tx.query(
        `update work_items set attempts = greatest(attempts, $3::int), last_error = $4,
                run_at = greatest(run_at, now() + $5::int * interval '1 millisecond'), updated_at = now()
          where kind = $1 and key = $2 and state = 'queued' returning 1`,
        [item.kind, item.key, item.attempt, message, delay],
      );
      if (folded.length > 0) {
        await tx.query(`delete from work_items where ${mine}`, fence);
      } else {
        await tx.query(
          `update work_items set state = 'queued', last_error = $4, locked_by = null, locked_until = null,
                  run_at = now() + $5::int * interval '1 millisecond', updated_at = now() where ${mine}`,
          [...fence, message, delay],
        );
      }
      return 'retry' as const;
    });
    const details = { err: failure, item: { ...item, payload: undefined } };
    if (outcome === 'interrupted') log.info(details, 'work queue: an item was interrupted; it is queued again');
    else if (outcome === 'failed') log.error(details, 'work queue: an item failed for good after its last attempt');
    else if (outcome === 'retry') log.warn(details, 'work queue: an item failed; it will be retried');
    else log.warn(details, 'work queue: an item failed after another worker had taken its lease');
  };

  const pruneNow = async () => {
    if (Date.now() - lastPrune < 3_600_000) return;
    lastPrune = Date.now();
    await db.query(
      `delete from work_items where state = 'done' and finished_at < now() - $1::int * interval '1 millisecond'`,
      [Math.min(keepDoneMs, 2_000_000_000)],
    );
  };

  const timer = options.pollMs > 0 && concurrency > 0 ? setInterval(() => void pump(), options.pollMs) : undefined;
  timer?.unref();
  // Work left queued by a stopped process starts now, not a poll interval later.
  void pump();

  return {
    kick: () => void pump(),

    enqueueInBackground(write) {
      const done = db
        .transaction(write)
        .then(() => void pump())
        .catch((err: unknown) => log.error({ err }, 'work queue: could not enqueue work'))
        .finally(() => enqueues.delete(done));
      enqueues.add(done);
    },

    async drain() {
      if (concurrency <= 0)
        throw new Error('this work queue runs no items (concurrency 0): nothing here would drain it');
      for (;;) {
        await Promise.all(enqueues);
        await pump();
        if (running.size === 0 && enqueues.size === 0) {
          // A pass that started before the last item finished may not have seen what it enqueued: look once more.
          await pump();
          if (running.size === 0) return;
        }
        await Promise.race([...running, ...enqueues]);
      }
    },

    stop() {
      closed = true;
      clearInterval(timer);
    },

    async close() {
      closed = true;
      clearInterval(timer);
      await Promise.all(enqueues);
      await pumping;
      await Promise.all(running);
    },
  };
}

function describeError(error: unknown): string {
  const text =
    error instanceof Error
      ? `${error.message}${error.cause instanceof Error ? ` (cause: ${error.cause.message})` : ''}`
      : String(error);
  return text.slice(0, maxErrorLength);
}
