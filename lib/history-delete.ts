import { browser } from 'wxt/browser';
import type { GleanerDb } from './db';
import { deviceKeyStorageKey } from './device-key';
import type { MessageReply } from './messages';
import { defaultSettings, readSettings, type Settings, writeSettings } from './settings';

/**
 * "Delete my local data": what this browser remembers of the person's work goes; what they chose (server,
 * budget, consent, pause) stays, and so does the device key unless they also reset the device. The options
 * page says the same in words (components/history-data-controls.tsx); keep both in step.
 */

/** Settings the person chose, kept by a delete: everything else in `settings` is a record or a cache of work. */
const keptSettings = ['serverUrl', 'dailyBudgetBytes', 'consent', 'pausedUntil', 'connection'] as const;

type DeleteLocalDataResult = MessageReply<'deleteLocalData'>;

/**
 * Deletes the local history and queued work: every table but `settings` (so a table added later is covered
 * too) and the settings that record work rather than a choice. With `resetDevice`, also the device key and
 * the registration that goes with it; the server keeps what the old device earned, under its address.
 */
export async function deleteLocalData(
  db: GleanerDb,
  { resetDevice }: { resetDevice: boolean },
): Promise<DeleteLocalDataResult> {
  const tables = db.tables.filter((table) => table.name !== 'settings');
  const deleted: Record<string, number> = {};
  await db.transaction('rw', [db.settings, ...tables], async () => {
    for (const table of tables) {
      deleted[table.name] = await table.count();
      await table.clear();
    }
    const settings = await readSettings(db);
    const reset: Partial<Settings> = {};
    for (const key of Object.keys(defaultSettings) as Array<keyof Settings>) {
      if ((keptSettings as readonly string[]).includes(key)) continue;
      Object.assign(reset, { [key]: defaultSettings[key] });
    }
    if (resetDevice) {
      reset.connection = {
        ...settings.connection,
        state: settings.connection.state === 'no-consent' ? 'no-consent' : 'offline',
        deviceAddress: null,
        registeredServerUrl: null,
        lastContactAt: null,
        lastError: null,
      };
    }
    await writeSettings(db, reset);
  });
  if (resetDevice) await browser.storage.local.remove(deviceKeyStorageKey);
  return { deleted, deviceReset: resetDevice };
}
