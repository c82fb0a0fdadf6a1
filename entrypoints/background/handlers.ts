import { BaseError } from '@protocol/errors';
import { createApiClient } from '@/lib/api-client';
import { deleteDeadLetters } from '@/lib/dead-letters';
import { loadDeviceAccount } from '@/lib/device-key';
import { readDeviceWallet, requestLinkCode } from '@/lib/device-wallet';
import { toErrorBody } from '@/lib/errors';
import { deleteLocalData } from '@/lib/history-delete';
import { readPointsByDay } from '@/lib/history-points';
import { logger } from '@/lib/logger';
import type { MessageHandlers } from '@/lib/messages';
import { currentConsentVersion, hasConsent, readSettings, writeSettings } from '@/lib/settings';
import { type BackgroundContext, readStatus } from './context';
import type { Labeling } from './labeling';
import type { RequestSync } from './sync';
import { clearSyncAlarm, ensureSyncAlarm } from './sync-alarm';

/** The background's answer to each message of `lib/messages.ts`; data arrives validated. */
export function createHandlers(ctx: BackgroundContext, requestSync: RequestSync, labeling: Labeling): MessageHandlers {
  const { db } = ctx;
  return {
    getStatus: () => readStatus(ctx),

    async setConsent({ given, serverUrl }) {
      if (given) {
        await writeSettings(db, {
          ...(serverUrl === undefined ? {} : { serverUrl }),
          consent: { given: true, at: ctx.now(), version: currentConsentVersion },
        });
        await ensureSyncAlarm();
        await requestSync();
      } else {
        await clearSyncAlarm();
        // Everything stops and nothing of the old state stays on show: no pause (it would read as
        // "Paused until …" under "No consent"), no leased task. Results waiting to upload stay.
        await db.transaction('rw', db.settings, db.tasks, async () => {
          const { connection } = await readSettings(db);
          await writeSettings(db, {
            consent: { given: false, at: ctx.now(), version: currentConsentVersion },
            connection: { ...connection, state: 'no-consent', lastError: null },
            pausedUntil: null,
          });
          await db.tasks.clear();
        });
      }
      return readStatus(ctx);
    },

    async saveSettings(patch) {
      const before = await readSettings(db);
      await writeSettings(db, patch);
      if (patch.serverUrl !== undefined && patch.serverUrl !== before.serverUrl && hasConsent(before)) {
        await requestSync();
      }
      return readStatus(ctx);
    },

    async pause({ until }) {
      if (until !== null && until <= ctx.now()) {
        throw new BaseError('bad_request', 'A pause must end in the future.');
      }
      await writeSettings(db, { pausedUntil: until });
      // Pausing stops page fetching only (the burst checks it); the sync keeps the link for labeling,
      // and on resume its burst starts fetching at once. Without consent it changes nothing.
      await requestSync();
      return readStatus(ctx);
    },

    async syncNow() {
      await requestSync();
      return readStatus(ctx);
    },

    async checkConnection() {
      await requestSync({ check: true });
      return readStatus(ctx);
    },

    async refreshPoints() {
      const settings = await readSettings(db);
      const account = await loadDeviceAccount();
      const connected =
        settings.connection.state === 'connected' && settings.connection.deviceAddress === account?.address;
      if (account && connected && hasConsent(settings)) {
        try {
          const points = await createApiClient({
            serverUrl: settings.serverUrl,
            account,
            fetch: ctx.fetch,
          }).getPoints();
          await writeSettings(db, { points: { ...points, fetchedAt: ctx.now() } });
        } catch (error) {
          logger.warn(`Could not read the points: ${toErrorBody(error).message}`);
        }
        await labeling.refreshStanding();
      }
      return readStatus(ctx);
    },

    getNextTask: () => labeling.nextTask(),
    submitLabel: (data) => labeling.submit(data),
    skipTask: (data) => labeling.skip(data),
    loadTaskImage: (data) => labeling.loadImage(data),
    undoLabel: () => labeling.undo(),
    getRecentLabels: () => labeling.recentLabels(),
    getLabelingProjects: () => labeling.projects(),
    chooseProject: (data) => labeling.chooseProject(data),

    async deleteDeadLetters({ ids }) {
      return { deleted: await deleteDeadLetters(db, ids) };
    },

    createLinkCode: () => requestLinkCode(ctx),
    getDeviceWallet: () => readDeviceWallet(ctx),
    getPointsByDay: (query) => readPointsByDay(ctx, query),

    async deleteLocalData({ resetDevice }) {
      const result = await deleteLocalData(db, { resetDevice });
      // A new key registers as a new device now rather than at the next alarm; without consent nothing runs.
      if (resetDevice && hasConsent(await readSettings(db))) await requestSync();
      return result;
    },
  };
}
