import { createHmac } from 'node:crypto';
import type { Queryable } from '../db/database';

/**
 * How buyers see contributors: under an id that is a keyed hash of the device, with one key per campaign,
 * project or dataset. Within one of them the same device is the same id (agreement, quality, provenance);
 * across them the ids differ, so nothing a buyer receives joins two of them on a person.
 */
export function contributorPseudonym(key: string, device: string): string {
  return createHmac('sha256', key).update(device.toLowerCase()).digest('hex').slice(0, 32);
}

/** The pseudonym key of each campaign or project named (rows that do not exist are left out). */
export async function pseudonymKeys(
  db: Queryable,
  table: 'campaigns' | 'projects',
  ids: readonly string[],
): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db.query<{ id: string; pseudonym_key: string }>(
    `select id::text as id, pseudonym_key from ${table} where id = any($1::uuid[])`,
    [ids],
  );
  return new Map(rows.map((row) => [row.id, row.pseudonym_key]));
}

/** A function naming devices as the buyer of one campaign or project sees them. */
export async function pseudonymsFor(
  db: Queryable,
  table: 'campaigns' | 'projects',
  id: string,
): Promise<(device: string) => string> {
  const key = (await pseudonymKeys(db, table, [id])).get(id);
  if (key === undefined) throw new Error(`no ${table} row ${id} to take a pseudonym key from`);
  return (device) => contributorPseudonym(key, device);
}
