import type { FastifyInstance } from 'fastify';
import type { DatasetStorage } from '../datasets/storage/dataset-storage';
import type { Database } from '../db/database';
import { closeEpoch } from './epoch-service';
import type { RewardSettings } from './reward-settings';

/** setTimeout's longest wait: Node fires a longer one after 1 ms (a monthly schedule would close continuously). */
const maxTimerMs = 2 ** 31 - 1;

/**
 * Closes an epoch every `rewards.closeEveryMs` when it is set (GLEANER_EPOCH_EVERY_HOURS). A close is due that
 * long after the last epoch's close, read from the database at every look, so restarting the server does not
 * push it back and a close made elsewhere (the operator, another process's schedule) pushes it forward: each
 * period closes one epoch, never a second one paying a whole pool for the few rows verified in between. The
 * close names the epoch it means (the last one + 1), so two processes due at once make one epoch, whatever
 * was verified between their looks. A look with nothing new to count makes none and looks again a period
 * later. Stops with the app.
 */
export function startEpochSchedule(
  app: FastifyInstance,
  db: Database,
  rewards: RewardSettings,
  storage: DatasetStorage,
): void {
  if (rewards.closeEveryMs === null) return;
  const every: number = rewards.closeEveryMs;
  const startedAt = Date.now();
  /** After a look that found nothing to close: not before this time. */
  let retryAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const wait = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(tick, Math.min(maxTimerMs, Math.max(0, ms)));
    timer.unref();
  };

  /** Closes the next epoch if it is due; answers how long to wait before the next look. */
  async function look(): Promise<number> {
    const rows = await db.query<{ last: Date | string | null; number: number | null }>(
      'select max(closed_at) as last, max(number)::int as number from epochs',
    );
    const last = rows[0]?.last;
    const dueAt = Math.max(
      retryAt,
      last === null || last === undefined ? startedAt + every : new Date(last).getTime() + every,
    );
    const now = Date.now();
    if (dueAt > now) return dueAt - now;
    const epoch = (rows[0]?.number ?? 0) + 1;
    const result = await closeEpoch(db, storage, rewards, { epoch });
    if (result.closed) {
      app.log.info({ epoch: result.epoch?.epoch, root: result.epoch?.root }, 'closed a reward epoch');
      return 0;
    }
    // Closed meanwhile by someone else: look again, which waits a period from that close.
    if (result.epoch) return 0;
    app.log.info({ reason: result.reason }, 'scheduled epoch close: nothing to close');
    retryAt = now + every;
    return every;
  }

  const tick = () => {
    running = look()
      .then(wait, (err: unknown) => {
        app.log.error({ err }, 'scheduled epoch close failed; the next one tries again');
        wait(every);
      })
      .finally(() => {
        running = undefined;
      });
  };
  tick();
  app.addHook('onClose', async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  });
}
