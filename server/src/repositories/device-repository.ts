import type { Device, DeviceRegistration } from '@protocol/devices';
import { AuthError } from '@protocol/errors';
import type { Address } from 'viem';
import type { Queryable } from '../db/database';

/** The answer to a request from a device with no row: the extension registers again when it gets it. */
export function unregisteredDevice(address: string): AuthError {
  return new AuthError('device_unknown', `Device ${address} is not registered; register it first.`);
}

interface DeviceRow {
  address: string;
  extension_version: string;
  browser: string;
  registered_at: Date;
  last_seen_at: Date;
}

function toDevice(row: DeviceRow): Device {
  return {
    address: row.address as Address,
    extensionVersion: row.extension_version,
    browser: row.browser,
    registeredAt: row.registered_at.toISOString(),
    lastSeenAt: row.last_seen_at.toISOString(),
  };
}

export function deviceRepository(db: Queryable) {
  return {
    /** Registers a device, or refreshes what it reports about itself if it is known already. */
    async upsert(address: Address, registration: DeviceRegistration): Promise<{ device: Device; created: boolean }> {
      const rows = await db.query<DeviceRow & { created: boolean }>(
        `insert into devices (address, extension_version, browser) values ($1, $2, $3)
         on conflict (address) do update
           set extension_version = excluded.extension_version, browser = excluded.browser, last_seen_at = now()
         returning *, (xmax = 0) as created`,
        [address, registration.extensionVersion, registration.browser],
      );
      const row = rows[0];
      if (!row) throw new Error('device upsert returned no row');
      return { device: toDevice(row), created: row.created };
    },

    async findByAddress(address: Address): Promise<Device | undefined> {
      const rows = await db.query<DeviceRow>('select * from devices where address = $1', [address]);
      return rows[0] ? toDevice(rows[0]) : undefined;
    },

    /** Marks devices seen at the given times, all in one statement (a time never moves back). */
    /** Moves each device's last sighting forward; returns the addresses that had a row to update. */
    async markSeen(addresses: readonly Address[], at: readonly Date[]): Promise<Set<string>> {
      const rows = await db.query<{ address: string }>(
        `update devices d set last_seen_at = greatest(d.last_seen_at, t.at)
           from unnest($1::text[], $2::text[]::timestamptz[]) as t(address, at) where d.address = t.address
         returning d.address`,
        // As text: the two drivers send a Date array differently; an ISO string means the same to both.
        [addresses, at.map((when) => when.toISOString())],
      );
      return new Set(rows.map((row) => row.address));
    },

    async list(limit = 1000): Promise<Device[]> {
      const rows = await db.query<DeviceRow>('select * from devices order by registered_at desc limit $1', [limit]);
      return rows.map(toDevice);
    },

    async count(): Promise<number> {
      const rows = await db.query<{ count: number }>('select count(*)::int as count from devices');
      return rows[0]?.count ?? 0;
    },
  };
}
