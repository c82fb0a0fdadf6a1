import { browser } from 'wxt/browser';
import { logger } from '@/lib/logger';
import { hasConsent, readSettings } from '@/lib/settings';
import type { BackgroundContext } from './context';
import type { RequestSync } from './sync';
import { ensureSyncAlarm } from './sync-alarm';

/** After install the person first sees the options page, which asks for consent; nothing else runs. */
export async function handleInstalled(ctx: BackgroundContext, requestSync: RequestSync, reason: string): Promise<void> {
  if (reason === 'install') await browser.runtime.openOptionsPage();
  await resumeIfConsented(ctx, requestSync);
}

/** On browser start the alarm may be gone: bring it back and reconnect, if consent was given. */
export async function handleStartup(ctx: BackgroundContext, requestSync: RequestSync): Promise<void> {
  await resumeIfConsented(ctx, requestSync);
}

async function resumeIfConsented(ctx: BackgroundContext, requestSync: RequestSync): Promise<void> {
  if (!hasConsent(await readSettings(ctx.db))) return;
  await ensureSyncAlarm();
  await requestSync();
}

export function setupLifecycle(ctx: BackgroundContext, requestSync: RequestSync): void {
  browser.runtime.onInstalled.addListener(({ reason }) => {
    handleInstalled(ctx, requestSync, reason).catch((error) => logger.error('Handling the install failed.', error));
  });
  browser.runtime.onStartup.addListener(() => {
    handleStartup(ctx, requestSync).catch((error) => logger.error('Handling the browser start failed.', error));
  });
}
