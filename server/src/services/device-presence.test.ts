import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeAll, expect, it } from 'vitest';
import type { Database } from '../db/database';
import { deviceRepository } from '../repositories/device-repository';
import { describeEachDatabase } from '../test/databases';
import { defaultDevicePresenceOptions, devicePresence } from './device-presence';

describeEachDatabase('device presence (GET /v1/devices/me from memory)', (database) => {
  const statements: string[] = [];
  let failNextWrite = false;
  // While set, every write waits for it: a write the test holds in flight.
  let writeGate: Promise<void> | undefined;
  let writesInFlight = 0;
  let db: Database;
  const addresses: Address[] = Array.from({ length: 3 }, () => privateKeyToAccount(generatePrivateKey()).address);

  beforeAll(async () => {
    const real = database();
    db = {
      ...real,
      query: <Row>(text: string, params?: readonly unknown[]) => {
        statements.push(text);
        if (failNextWrite && text.includes('update devices')) {
          failNextWrite = false;
          return Promise.reject(new Error('the database went away for a moment'));
        }
        if (writeGate && text.includes('update devices')) {
          writesInFlight += 1;
          return writeGate
            .then(() => real.query<Row>(text, params))
            .finally(() => {
              writesInFlight -= 1;
            });
        }
        return real.query<Row>(text, params);
      },
    };
    for (const address of addresses) {
      await deviceRepository(real).upsert(address, { extensionVersion: '1.0.0', browser: 'chrome' });
    }
  });

  const lastSeen = async (address: Address) =>
    (await deviceRepository(database()).findByAddress(address))?.lastSeenAt ?? 'not registered';

  it('answers from memory, says the device was seen now, and writes every sighting of a second in one statement', async () => {
    let clock = Date.parse('2030-01-01T00:00:00Z');
    const presence = devicePresence(db, { ...defaultDevicePresenceOptions, flushMs: 3_600_000, now: () => clock });
    statements.length = 0;
    for (let round = 0; round < 5; round += 1) {
      for (const address of addresses) {
        const device = await presence.seen(address);
        expect(device).toMatchObject({ address, extensionVersion: '1.0.0', lastSeenAt: new Date(clock).toISOString() });
      }
      clock += 100;
    }
    // One read per device, nothing written yet.
    expect(statements.filter((text) => text.startsWith('select'))).toHaveLength(3);
    expect(statements.filter((text) => text.includes('update devices'))).toHaveLength(0);
    await presence.flush();
    expect(statements.filter((text) => text.includes('update devices'))).toHaveLength(1);
    for (const address of addresses) expect(await lastSeen(address)).toBe(new Date(clock - 100).toISOString());
    await presence.close();
  });

  it('keeps a sighting whose write failed for the next write, and never moves a last sighting back', async () => {
    const clock = Date.parse('2031-01-01T00:00:00Z');
    const presence = devicePresence(db, { ...defaultDevicePresenceOptions, flushMs: 3_600_000, now: () => clock });
    const errors: unknown[] = [];
    const watched = devicePresence(db, {
      ...defaultDevicePresenceOptions,
      flushMs: 3_600_000,
      now: () => clock - 86_400_000,
      onFlushError: (error) => errors.push(error),
    });
    const [address] = addresses as [Address];
    await presence.seen(address);
    failNextWrite = true;
    await presence.flush().catch(() => undefined);
    expect(await lastSeen(address)).not.toBe(new Date(clock).toISOString());
    await presence.flush();
    expect(await lastSeen(address)).toBe(new Date(clock).toISOString());
    // A process whose sighting is a day older writes it later: the newer one stays.
    await watched.seen(address);
    await watched.close();
    expect(errors).toEqual([]);
    expect(await lastSeen(address)).toBe(new Date(clock).toISOString());
    await presence.close();
  });

  it('reads a device again once its copy is older than the cache allows, and takes a registration at once', async () => {
    let clock = Date.parse('2032-01-01T00:00:00Z');
    const presence = devicePresence(db, {
      ...defaultDevicePresenceOptions,
      flushMs: 3_600_000,
      cacheMs: 60_000,
      now: () => clock,
    });
    const [, address] = addresses as [Address, Address];
    await presence.seen(address);
    // Another process re-registers the device with a new version.
    const { device: updated } = await deviceRepository(database()).upsert(address, {
      extensionVersion: '2.0.0',
      browser: 'firefox',
    });
    expect((await presence.seen(address))?.extensionVersion).toBe('1.0.0');
    clock += 60_000;
    expect((await presence.seen(address))?.extensionVersion).toBe('2.0.0');
    // This process's own registration is seen at once.
    presence.registered({ ...updated, extensionVersion: '3.0.0' });
    expect((await presence.seen(address))?.extensionVersion).toBe('3.0.0');
    expect(await presence.seen(privateKeyToAccount(generatePrivateKey()).address)).toBeUndefined();
    await presence.close();
    expect(await lastSeen(address)).toBe(new Date(clock).toISOString());
  });

  it('closes only once every sighting is written, even with a timer flush waiting on the same write', async () => {
    let clock = Date.parse('2033-01-01T00:00:00Z');
    const presence = devicePresence(db, { ...defaultDevicePresenceOptions, flushMs: 3_600_000, now: () => clock });
    const [first, second] = addresses as [Address, Address];
    let release = () => {};
    writeGate = new Promise((resolve) => {
      release = resolve;
    });
    try {
      await presence.seen(first);
      const underWay = presence.flush();
      // Seen while the first write is in flight; then the timer's flush and shutdown's close both wait on it.
      clock += 500;
      await presence.seen(second);
      const timerFlush = presence.flush();
      const closed = presence.close();
      release();
      await closed;
      // server.ts closes the database as soon as close() returns: nothing may still be writing then.
      expect(writesInFlight).toBe(0);
      await Promise.all([underWay, timerFlush]);
    } finally {
      writeGate = undefined;
      release();
    }
    expect(await lastSeen(second)).toBe(new Date(clock).toISOString());
  });
});

describeEachDatabase('device presence when a row is gone', (database) => {
  it('forgets a device whose row was gone when its sighting was written, and says which, once', async () => {
    const db = database();
    const [kept, gone] = Array.from({ length: 2 }, () => privateKeyToAccount(generatePrivateKey()).address);
    for (const address of [kept, gone] as Address[]) {
      await deviceRepository(db).upsert(address, { extensionVersion: '1.0.0', browser: 'chrome' });
    }
    const vanished: Address[][] = [];
    const presence = devicePresence(db, {
      ...defaultDevicePresenceOptions,
      flushMs: 3_600_000,
      onVanished: (addresses) => vanished.push(addresses),
    });
    expect(await presence.seen(kept as Address)).toBeDefined();
    expect(await presence.seen(gone as Address)).toBeDefined();
    await db.query('delete from devices where address = $1', [gone]);
    // Still this process's copy: the row's absence shows when the sighting is written.
    expect(await presence.seen(gone as Address)).toBeDefined();
    await presence.flush();
    expect(vanished).toEqual([[gone]]);
    expect(await presence.seen(gone as Address)).toBeUndefined();
    expect(await presence.seen(kept as Address)).toBeDefined();
    await presence.flush();
    expect(vanished).toEqual([[gone]]);
    await presence.close();
  });
});

describeEachDatabase('device presence: a registration racing the last-seen write', (database) => {
  it('does not report as vanished (and end the new sessions of) a device registered again while its sighting was written', async () => {
    const real = database();
    const device = privateKeyToAccount(generatePrivateKey()).address as Address;
    let release: (() => void) | undefined;
    let written: (() => void) | undefined;
    const writeDone = new Promise<void>((resolve) => {
      written = resolve;
    });
    // The last-seen write runs at once (it finds no row) but its answer is held, as when it waited on row locks
    // or the network while the device registered again on this process.
    const db: Database = {
      ...real,
      query: async <Row>(text: string, params?: readonly unknown[]) => {
        const rows = await real.query<Row>(text, params);
        if (text.includes('update devices')) {
          written?.();
          await new Promise<void>((resolve) => {
            release = resolve;
          });
        }
        return rows;
      },
    };
    await deviceRepository(real).upsert(device, { extensionVersion: '1.0.0', browser: 'chrome' });
    const vanished: Address[][] = [];
    const presence = devicePresence(db, {
      ...defaultDevicePresenceOptions,
      flushMs: 3_600_000,
      onVanished: (addresses) => vanished.push(addresses),
    });
    expect(await presence.seen(device)).toBeDefined();
    // The row goes (a database cleared under the server) ...
    await real.query('delete from devices where address = $1', [device]);
    const flushing = presence.flush();
    await writeDone;
    // ... and while the sighting's write is in flight, the extension registers again (POST /v1/devices does both).
    const again = await deviceRepository(real).upsert(device, { extensionVersion: '1.0.0', browser: 'chrome' });
    presence.registered(again.device);
    // (it would now open a new session on this process)
    release?.();
    await flushing;
    // The device has a row and was just registered here: onVanished would end its brand-new sessions.
    expect(vanished).toEqual([]);
    await presence.close();
  });
});
