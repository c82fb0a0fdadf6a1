import type { FastifyInstance } from 'fastify';
import type { DatasetStorage } from '../datasets/storage/dataset-storage';
import type { Database } from '../db/database';
import { closeEpoch } from './epoch-service';
import type { RewardSettings } from './reward-settings';

/**
 * Closes an epoch every `rewards.closeEveryMs` when it is set (GLEANER_EPOCH_EVERY_HOURS). The first close is
 * due that long after the last epoch's close (what the dashboard announces), so restarting the server does not
 * push it back. Every server process may run it: the close's advisory lock and its idempotence mean two of them
 * never make two epochs, and a tick with nothing new to count makes none. Stops with the app.
 */
export function startEpochSchedule(
  app: FastifyInstance,
  db: Database,
  rewards: RewardSettings,
  storage: DatasetStorage,
): void {
  const every = rewards.closeEveryMs;
  if (every === null) return;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const wait = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(tick, ms);
    timer.unref();
  };
  const tick = () => {
    running = closeEpoch(db, storage, rewards)
      .then((result) => {
        if (result.closed)
          app.log.info({ epoch: result.epoch?.epoch, root: result.epoch?.root }, 'closed a reward epoch');
        else app.log.info({ reason: result.reason }, 'scheduled epoch close: nothing to close');
      })
      .catch((err: unknown) => app.log.error({ err }, 'scheduled epoch close failed; the next one tries again'))
      .finally(() => {
        running = undefined;
        wait(every);
      });
  };
  running = db
    .query<{ last: Date | string | null }>('select max(closed_at) as last from epochs')
    .then((rows) => {
      const last = rows[0]?.last;
      const due = last === null || last === undefined ? every : new Date(last).getTime() + every - Date.now();
      wait(Math.min(every, Math.max(0, due)));
    })
    .catch((err: unknown) => {
      app.log.error({ err }, 'could not read the last epoch; closing epochs on schedule from now');
      wait(every);
    })
    .finally(() => {
      running = undefined;
    });
  app.addHook('onClose', async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  });
}
