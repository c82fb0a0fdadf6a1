import { randomBytes } from 'node:crypto';
import type { Address } from 'viem';
import { privateKeyToAddress } from 'viem/accounts';
import type { Database } from '../db/database';

/** A fresh random address: a device's or a wallet's. */
export const newAddress = (): Address => privateKeyToAddress(`0x${randomBytes(32).toString('hex')}`);

/** Links `device` to `wallet`, ending its current link first, as relinking does. */
export async function linkWallet(db: Database, device: string, wallet: string): Promise<void> {
  await db.query('update wallet_links set unlinked_at = now() where device = $1 and unlinked_at is null', [device]);
  await db.query('insert into wallet_links (device, wallet) values ($1, $2)', [device, wallet]);
}

/** A registered device, linked to `wallet` when given; returns its address. */
export async function addDevice(db: Database, wallet?: string): Promise<Address> {
  const device = newAddress();
  await db.query(`insert into devices (address, extension_version, browser) values ($1, '1.0.0', 'chrome')`, [device]);
  if (wallet) await linkWallet(db, device, wallet);
  return device;
}

/** A ledger row of `points` for `device`, verified (settled now) unless told otherwise; returns its reference. */
export async function creditPoints(db: Database, device: string, points: number, state = 'verified'): Promise<string> {
  const reference = `page:${randomBytes(8).toString('hex')}`;
  await db.query(
    `insert into points_ledger (device, reference, reason, points, state, settled_at)
     values ($1, $2, 'scrape', $3, $4, case when $4 = 'pending' then null else now() end)`,
    [device, reference, points, state],
  );
  return reference;
}
