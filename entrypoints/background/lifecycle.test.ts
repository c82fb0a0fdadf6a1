import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { loadDeviceAccount } from '@/lib/device-key';
import { readSettings } from '@/lib/settings';
import { createTestDb } from '@/lib/testing/test-db';
import { handleInstalled, handleStartup } from './lifecycle';
import { createSyncRunner } from './sync';
import { syncAlarmName } from './sync-alarm';
import { createTestBackground } from './test-context';

beforeEach(() => {
  fakeBrowser.reset();
  vi.spyOn(console, 'info').mockImplementation(() => {});
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('install', () => {
  it('opens the options page and does nothing else', async () => {
    const openOptionsPage = vi.fn(async () => {});
    fakeBrowser.runtime.openOptionsPage = openOptionsPage;
    const { ctx, server, requestSync } = createTestBackground();

    await handleInstalled(ctx, requestSync, 'install');

    expect(openOptionsPage).toHaveBeenCalledOnce();
    expect(await loadDeviceAccount()).toBeNull();
    expect(server.received).toEqual([]);
    expect(await fakeBrowser.alarms.getAll()).toEqual([]);
  });

  it('on update, keeps contributing if consent was given', async () => {
    const openOptionsPage = vi.fn(async () => {});
    fakeBrowser.runtime.openOptionsPage = openOptionsPage;
    const { ctx, handlers, requestSync } = createTestBackground();
    await handlers.setConsent({ given: true });
    await fakeBrowser.alarms.clearAll();

    await handleInstalled(ctx, requestSync, 'update');

    expect(openOptionsPage).not.toHaveBeenCalled();
    expect(await fakeBrowser.alarms.get(syncAlarmName)).toBeDefined();
  });
});

describe('browser start', () => {
  it('brings back the sync alarm and reconnects when consent was given', async () => {
    const { ctx, handlers, server, requestSync } = createTestBackground();
    await handlers.setConsent({ given: true });
    await fakeBrowser.alarms.clearAll();
    server.received.length = 0;

    await handleStartup(ctx, requestSync);

    expect(await fakeBrowser.alarms.get(syncAlarmName)).toMatchObject({ periodInMinutes: 1 });
    expect(server.received.map((request) => request.path)).toEqual(['/v1/devices/me']);
  });

  it('does nothing without consent', async () => {
    const { ctx, server, requestSync } = createTestBackground();
    await handleStartup(ctx, requestSync);
    expect(await fakeBrowser.alarms.getAll()).toEqual([]);
    expect(server.received).toEqual([]);
    expect(await loadDeviceAccount()).toBeNull();
  });

  it('resumes from the state a killed worker left in IndexedDB', async () => {
    const indexedDB = new IDBFactory();
    const { ctx, handlers, server } = createTestBackground({ db: createTestDb(indexedDB) });
    await handlers.setConsent({ given: true });
    server.received.length = 0;
    ctx.db.close();
    // A new worker shares only IndexedDB and extension storage with the old one: no sync runner, no memory.
    const worker = { ...ctx, db: createTestDb(indexedDB) };

    await handleStartup(worker, createSyncRunner(worker));

    expect(server.received.map((request) => request.path)).toEqual(['/v1/devices/me']);
    expect((await readSettings(worker.db)).connection.state).toBe('connected');
  });
});
