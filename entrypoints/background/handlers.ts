import { BaseError } from '@protocol/errors';
import type { MessageHandlers } from '@/lib/messages';
import { currentConsentVersion, hasConsent, readSettings, writeSettings } from '@/lib/settings';
import { type BackgroundContext, readStatus } from './context';
import type { RequestSync } from './sync';
import { clearSyncAlarm, ensureSyncAlarm } from './sync-alarm';

/** The background's answer to each message of `lib/messages.ts`; data arrives validated. */
export function createHandlers(ctx: BackgroundContext, requestSync: RequestSync): MessageHandlers {
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
        await db.transaction('rw', db.settings, async () => {
          const { connection } = await readSettings(db);
          await writeSettings(db, {
            consent: { given: false, at: ctx.now(), version: currentConsentVersion },
            connection: { ...connection, state: 'no-consent', lastError: null },
          });
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
      // The sync stores 'paused', or reconnects on resume; without consent it changes nothing.
      await requestSync();
      return readStatus(ctx);
    },

    async syncNow() {
      await requestSync();
      return readStatus(ctx);
    },
  };
}
