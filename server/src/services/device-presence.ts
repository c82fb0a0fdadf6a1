import type { Device } from '@protocol/devices';
import type { Address } from 'viem';
import type { Database } from '../db/database';
import { deviceRepository } from '../repositories/device-repository';

/**
 * When each device was last seen, and what it is, for `GET /v1/devices/me`: the request every idle extension
 * sends once a minute, and so, at a million devices, most of all requests. It is answered from memory: the
 * device's row is kept for `cacheMs` after it was read (registration, the only thing that changes it, refreshes
 * this process's copy), and "last seen" is written behind, all devices seen in `flushMs` in one statement,
 * instead of one update per request. A crash loses at most the last `flushMs` of sightings; a row another
 * process re-registered is at most `cacheMs` old here.
 */
export interface DevicePresenceOptions {
  flushMs: number;
  cacheMs: number;
  /** Devices whose rows are kept at most (the longest kept are forgotten first). */
  maxCached: number;
  now?: () => number;
  onFlushError?: (error: unknown) => void;
  /**
   * Devices seen here whose rows were gone when their sighting was written (a database restored or cleared
   * under a running server): forgotten here, and handed over so what else trusts them (sessions) can forget them.
   */
  onVanished?: (addresses: Address[]) => void;
}

export const defaultDevicePresenceOptions: DevicePresenceOptions = {
  flushMs: 1000,
  // Longer than the extension's one sync a minute, or nearly every idle sync would read the row again.
  cacheMs: 10 * 60_000,
  maxCached: 200_000,
};

export interface DevicePresence {
  /** The device as the server knows it, seen now (undefined when it is not registered). */
  seen(address: Address): Promise<Device | undefined>;
  /** A registration's row, as stored: this process answers with it from now on. */
  registered(device: Device): void;
  /** Writes every sighting not yet written. */
  flush(): Promise<void>;
  /** Stops the timer and writes what is left. */
  close(): Promise<void>;
}

export function devicePresence(
  db: Database,
  options: DevicePresenceOptions = defaultDevicePresenceOptions,
): DevicePresence {
  const now = options.now ?? Date.now;
  const devices = deviceRepository(db);
  // Keyed by the address as the device's verified request names it (checksummed), like `pending`.
  const cached = new Map<string, { device: Device; readAt: number }>();
  let pending = new Map<Address, number>();
  let flushing: Promise<void> | undefined;
  // Registered here while the write under way ran: its "no row" may predate the registration, so it is not trusted.
  const registeredDuringWrite = new Set<string>();

  const remember = (device: Device, readAt: number) => {
    cached.delete(device.address);
    if (cached.size >= options.maxCached) cached.delete(cached.keys().next().value as string);
    cached.set(device.address, { device, readAt });
  };

  const flush = async (): Promise<void> => {
    // Until no write is under way, whoever started it: two callers waiting on one write wake together, and the
    // first starts the next; a single `await` let the second (close() at shutdown) return while that write ran,
    // and the database was closed under it.
    while (flushing) await flushing;
    if (pending.size === 0) return;
    const batch = pending;
    pending = new Map();
    registeredDuringWrite.clear();
    flushing = devices
      .markSeen(
        [...batch.keys()],
        [...batch.values()].map((at) => new Date(at)),
      )
      .then((found) => {
        const vanished = [...batch.keys()].filter(
          (address) => !found.has(address) && !registeredDuringWrite.has(address),
        );
        if (vanished.length === 0) return;
        for (const address of vanished) cached.delete(address);
        options.onVanished?.(vanished);
      })
      .catch((error: unknown) => {
        // Kept for the next flush: a sighting is never lost to a failed write while the process lives.
        for (const [address, at] of batch) pending.set(address, Math.max(at, pending.get(address) ?? 0));
        options.onFlushError?.(error);
      })
      .finally(() => {
        flushing = undefined;
      });
    await flushing;
  };

  const timer = setInterval(() => void flush(), options.flushMs);
  timer.unref();

  return {
    async seen(address) {
      const at = now();
      let entry = cached.get(address);
      if (!entry || at - entry.readAt >= options.cacheMs) {
        const device = await devices.findByAddress(address);
        if (!device) return undefined;
        remember(device, at);
        entry = { device, readAt: at };
      }
      pending.set(address, at);
      return { ...entry.device, lastSeenAt: new Date(at).toISOString() };
    },
    registered(device) {
      if (flushing) registeredDuringWrite.add(device.address);
      remember(device, now());
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
