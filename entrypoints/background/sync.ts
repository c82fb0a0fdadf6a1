import type { Device } from '@protocol/devices';
import { BaseError } from '@protocol/errors';
import { createApiClient } from '@/lib/api-client';
import { ensureDeviceAccount } from '@/lib/device-key';
import { toErrorBody } from '@/lib/errors';
import { logger } from '@/lib/logger';
import { type Connection, hasConsent, isPaused, readSettings, type Settings, writeSettings } from '@/lib/settings';
import type { BackgroundContext } from './context';

/**
 * Asks for a sync; resolves when a sync that started after the request has finished. A `check`
 * (the popup opening, and while it stays open) is a heartbeat only: the scraping burst follows it
 * only when it brings the device back online, when what waited goes up at once.
 */
export type RequestSync = (options?: { check?: boolean }) => Promise<void>;

export interface SyncRunnerOptions {
  /**
   * Called (not awaited) after each sync that left the device connected, except a check that found
   * it connected already: the scraping burst starts there.
   */
  onConnected?: () => void;
}

/**
 * Serializes syncs: one runs at a time, and requests that arrive while one runs share the
 * single next run, which reads the settings afresh (and is a check only if all of them were).
 */
export function createSyncRunner(ctx: BackgroundContext, options: SyncRunnerOptions = {}): RequestSync {
  let tail: Promise<void> = Promise.resolve();
  let next: { run: Promise<void>; check: boolean } | null = null;
  return (request = {}) => {
    const check = request.check === true;
    if (next) {
      next.check &&= check;
      return next.run;
    }
    const queued = { run: Promise.resolve(), check };
    queued.run = tail.then(async () => {
      next = null;
      const wasConnected = (await readSettings(ctx.db)).connection.state === 'connected';
      await syncConnection(ctx);
      const connected = (await readSettings(ctx.db)).connection.state === 'connected';
      if (options.onConnected && connected && !(queued.check && wasConnected)) options.onConnected();
    });
    next = queued;
    tail = queued.run.catch(() => {});
    return queued.run;
  };
}

/**
 * Brings the link to the server in line with the settings. No consent: nothing (no key, no
 * network). Otherwise register when this device has not registered with this server yet, then a
 * signed heartbeat; a server that forgot the device gets it registered again. A pause does not
 * stop this: it stops page fetching only, and labeling goes on over the link. Every outcome is
 * stored, so a killed worker resumes from it.
 */
export async function syncConnection(ctx: BackgroundContext): Promise<void> {
  const { db } = ctx;
  const settings = await readSettings(db);
  if (!hasConsent(settings)) {
    await setConnectionState(ctx, settings, 'no-consent');
    return;
  }
  if (settings.pausedUntil !== null && !isPaused(settings, ctx.now())) {
    logger.info('The pause has ended; contributing again.');
    await writeSettings(db, { pausedUntil: null });
  }

  // A failure here only matters to fetching, which checks again (and stops) before every burst.
  await ctx
    .prepareNetwork?.(settings.serverUrl)
    .catch((error) => logger.error('Preparing the network rules failed.', error));
  const account = await ensureDeviceAccount();
  const api = createApiClient({ serverUrl: settings.serverUrl, account, fetch: ctx.fetch });
  const commit = (patch: Partial<Connection>) => commitConnection(ctx, settings.serverUrl, patch);
  let registeredServerUrl =
    settings.connection.deviceAddress === account.address ? settings.connection.registeredServerUrl : null;
  const register = async (): Promise<boolean> => {
    if (!(await commit({ state: 'registering', deviceAddress: account.address }))) return false;
    await api.registerDevice({ extensionVersion: ctx.extensionVersion, browser: ctx.browserName });
    registeredServerUrl = settings.serverUrl;
    return true;
  };

  try {
    const registered = registeredServerUrl === settings.serverUrl;
    if (!registered && !(await register())) return;
    let device: Device;
    try {
      device = await api.getOwnDevice();
    } catch (error) {
      if (!(registered && error instanceof BaseError && error.code === 'device_unknown')) throw error;
      logger.info('The server does not know this device (any more); registering it again.');
      if (!(await register())) return;
      device = await api.getOwnDevice();
    }
    await commit({
      state: 'connected',
      deviceAddress: device.address,
      lastError: null,
      lastContactAt: ctx.now(),
      registeredServerUrl,
    });
  } catch (error) {
    const body = toErrorBody(error);
    logger.warn(`Could not sync with ${settings.serverUrl}: ${body.message}`, error);
    await commit({ state: 'offline', deviceAddress: account.address, lastError: body.message, registeredServerUrl });
  }
}

/** Stores a state that needs no network (no consent), skipping the write when nothing changes. */
async function setConnectionState(ctx: BackgroundContext, settings: Settings, state: Connection['state']) {
  if (settings.connection.state === state) return;
  await writeSettings(ctx.db, { connection: { ...settings.connection, state } });
}

/**
 * Stores a sync outcome only if consent and server address are still what the sync started with:
 * a withdrawal or a new server during a request must not be overwritten. Returns whether it stored.
 */
async function commitConnection(ctx: BackgroundContext, serverUrl: string, patch: Partial<Connection>) {
  const { db } = ctx;
  return db.transaction('rw', db.settings, async () => {
    const current = await readSettings(db);
    if (!hasConsent(current) || current.serverUrl !== serverUrl) return false;
    await writeSettings(db, { connection: { ...current.connection, ...patch } });
    return true;
  });
}
