import { browser } from 'wxt/browser';
import { logger } from '@/lib/logger';
import { hasConsent, readSettings } from '@/lib/settings';
import type { BackgroundContext } from './context';
import type { RequestSync } from './sync';

export const syncAlarmName = 'gleaner-sync';

/** Creates the periodic sync alarm unless it exists (alarms can be lost on browser restarts and updates). */
export async function ensureSyncAlarm(): Promise<void> {
  if (await browser.alarms.get(syncAlarmName)) return;
  // One minute: well above Chrome's 30 s minimum; the service worker sleeps in between.
  await browser.alarms.create(syncAlarmName, { periodInMinutes: 1 });
}

export async function clearSyncAlarm(): Promise<void> {
  await browser.alarms.clear(syncAlarmName);
}

/** Runs on each sync alarm: heartbeat (or retry, or end of pause) when consent holds, else removes the stray alarm. */
export async function handleSyncAlarm(ctx: BackgroundContext, requestSync: RequestSync): Promise<void> {
  if (!hasConsent(await readSettings(ctx.db))) {
    await clearSyncAlarm();
    return;
  }
  await requestSync();
}

export function setupSyncAlarm(ctx: BackgroundContext, requestSync: RequestSync): void {
  browser.alarms.onAlarm.addListener((alarm) => {
    if (alarm.name !== syncAlarmName) return;
    handleSyncAlarm(ctx, requestSync).catch((error) => logger.error('The sync alarm failed.', error));
  });
}
