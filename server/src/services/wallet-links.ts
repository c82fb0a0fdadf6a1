import { randomInt } from 'node:crypto';
import { AuthError, BaseError } from '@protocol/errors';
import {
  type DeviceLinkCode,
  linkCodeAlphabet,
  linkCodeLength,
  readWalletLinkResources,
  type SignedSiweMessage,
  type SiweNonce,
  type WalletLink,
  type WalletLinkAction,
  walletLinkMessageFields,
} from '@protocol/wallets';
import { type Address, getAddress, isAddress } from 'viem';
import { generateSiweNonce } from 'viem/siwe';
import type { ServerIdentity } from '../app-context';
import type { Database, Queryable } from '../db/database';
import { type CheckedSiweMessage, checkSiweMessage, type SiweSignatureVerifier } from './wallet-siwe';

const nonceLifetimeMinutes = 10;
const linkCodeLifetimeMinutes = 10;
/** Spent and expired nonces and codes are kept this long (to say "used" or "expired" rather than "unknown"), then pruned. */
const keepSpentHours = 24;

interface WalletLinkRow {
  device: string;
  wallet: string;
  linked_at: Date;
  unlinked_at: Date | null;
}

function toWalletLink(row: WalletLinkRow): WalletLink {
  return {
    device: row.device,
    wallet: row.wallet,
    linkedAt: row.linked_at.toISOString(),
    unlinkedAt: row.unlinked_at?.toISOString() ?? null,
  };
}

/** Eight characters from the unambiguous alphabet, drawn uniformly with the CSPRNG. */
function newLinkCode(): string {
  let code = '';
  for (let i = 0; i < linkCodeLength; i++) code += linkCodeAlphabet[randomInt(linkCodeAlphabet.length)];
  return code;
}

/** Wallet linking: SIWE nonces, device link codes and the history of which wallet each device pays. */
export function walletLinkService(db: Database, server: ServerIdentity, verify: SiweSignatureVerifier) {
  return {
    /** A fresh SIWE nonce, stored so that it signs one action before it expires. */
    async issueNonce(): Promise<SiweNonce> {
      await db.query(`delete from siwe_nonces where expires_at < now() - make_interval(hours => $1)`, [keepSpentHours]);
      const nonce = generateSiweNonce();
      const rows = await db.query<{ expires_at: Date }>(
        `insert into siwe_nonces (nonce, expires_at) values ($1, now() + make_interval(mins => $2)) returning expires_at`,
        [nonce, nonceLifetimeMinutes],
      );
      return { nonce, expiresAt: rowOf(rows).expires_at.toISOString() };
    },

    /** A one-time code for `device` to show its person; a wallet names it to link the device. */
    async issueLinkCode(device: Address): Promise<DeviceLinkCode> {
      await db.query(`delete from device_link_codes where expires_at < now() - make_interval(hours => $1)`, [
        keepSpentHours,
      ]);
      // A clash with a live code is about one in 10^11; draw again rather than fail.
      for (let attempt = 0; attempt < 5; attempt++) {
        const code = newLinkCode();
        const rows = await db.query<{ expires_at: Date }>(
          `insert into device_link_codes (code, device, expires_at) values ($1, $2, now() + make_interval(mins => $3))
           on conflict (code) do nothing returning expires_at`,
          [code, device, linkCodeLifetimeMinutes],
        );
        if (rows[0]) return { code, expiresAt: rows[0].expires_at.toISOString() };
      }
      throw new Error('could not draw an unused link code');
    },

    /** The device's open link, if it has one. */
    async currentLink(device: Address): Promise<WalletLink | null> {
      const rows = await db.query<WalletLinkRow>(
        'select device, wallet, linked_at, unlinked_at from wallet_links where device = $1 and unlinked_at is null',
        [device],
      );
      return rows[0] ? toWalletLink(rows[0]) : null;
    },

    /**
     * Links the device a signed SIWE message names to the signing wallet, spending its nonce and the device's
     * code, closing the device's previous link: all in one transaction. Linking to the wallet it already has
     * keeps the open link as it is.
     */
    async link(signed: SignedSiweMessage): Promise<WalletLink> {
      const message = await checkSiweMessage(signed.message, signed.signature, server, verify);
      const { device, code } = namedDevice(message, 'link');
      return db.transaction(async (tx) => {
        await spendNonce(tx, message.nonce);
        await spendLinkCode(tx, code ?? '', device);
        const open = await lockOpenLink(tx, device);
        if (open?.wallet === message.address) return toWalletLink(open);
        if (open)
          await tx.query('update wallet_links set unlinked_at = now() where device = $1 and unlinked_at is null', [
            device,
          ]);
        const rows = await tx.query<WalletLinkRow>(
          `insert into wallet_links (device, wallet) values ($1, $2) returning device, wallet, linked_at, unlinked_at`,
          [device, message.address],
        );
        return toWalletLink(rowOf(rows));
      });
    },

    /** Closes the named device's link to the signing wallet; the device earns unlinked from then on. */
    async unlink(signed: SignedSiweMessage): Promise<WalletLink> {
      const message = await checkSiweMessage(signed.message, signed.signature, server, verify);
      const { device } = namedDevice(message, 'unlink');
      return db.transaction(async (tx) => {
        await spendNonce(tx, message.nonce);
        const open = await lockOpenLink(tx, device);
        if (open?.wallet !== message.address) {
          throw new BaseError('wallet_not_linked', `Device ${device} is not linked to ${message.address}.`);
        }
        const rows = await tx.query<WalletLinkRow>(
          `update wallet_links set unlinked_at = now() where device = $1 and unlinked_at is null
           returning device, wallet, linked_at, unlinked_at`,
          [device],
        );
        return toWalletLink(rowOf(rows));
      });
    },
  };
}

/** The device a message names, once its statement and resources are exactly what `action` requires. */
function namedDevice(message: CheckedSiweMessage, action: WalletLinkAction): { device: Address; code?: string } {
  const named = readWalletLinkResources(message.resources ?? []);
  if (!named.device || !isAddress(named.device)) {
    throw new BaseError('siwe_message_invalid', 'The message does not name a device (resource urn:gleaner:device:…).');
  }
  const device = getAddress(named.device);
  if (action === 'link' && !named.code) {
    throw new BaseError(
      'siwe_message_invalid',
      "The message does not carry the device's link code (resource urn:gleaner:link-code:…).",
    );
  }
  const expected = walletLinkMessageFields(action, named.device, named.code);
  const sameResources = JSON.stringify(message.resources ?? []) === JSON.stringify(expected.resources);
  if (message.statement !== expected.statement || !sameResources) {
    throw new BaseError(
      'siwe_message_invalid',
      `The message must say exactly "${expected.statement}" with resources ${expected.resources.join(', ')}.`,
    );
  }
  return { device, code: named.code };
}

/** Marks the nonce used; says why when it cannot (never issued here, used, expired). */
export async function spendNonce(tx: Queryable, nonce: string): Promise<void> {
  const rows = await tx.query<{ used: boolean; expired: boolean }>(
    `update siwe_nonces set used_at = case when used_at is null and expires_at > now() then now() else used_at end
     where nonce = $1
     returning (used_at is distinct from now()) as used, expires_at <= now() as expired`,
    [nonce],
  );
  const row = rows[0];
  if (!row)
    throw new AuthError('siwe_nonce_unknown', "The message's nonce was not issued by this server; ask for a new one.");
  if (row.expired) throw new AuthError('siwe_nonce_expired', "The message's nonce has expired; ask for a new one.");
  if (row.used) throw new AuthError('siwe_nonce_used', "The message's nonce was used already; each signs one action.");
}

/** Marks the device's code used; a code of another device is as unknown as a mistyped one. */
async function spendLinkCode(tx: Queryable, code: string, device: Address): Promise<void> {
  const rows = await tx.query<{ used: boolean; expired: boolean }>(
    `update device_link_codes set used_at = case when used_at is null and expires_at > now() then now() else used_at end
     where code = $1 and device = $2
     returning (used_at is distinct from now()) as used, expires_at <= now() as expired`,
    [code, device],
  );
  const row = rows[0];
  if (!row) {
    throw new AuthError(
      'link_code_invalid',
      `Code ${code} is not a link code of device ${device}; copy it again from the extension's options.`,
    );
  }
  if (row.expired)
    throw new AuthError('link_code_expired', `Link code ${code} has expired; the extension shows a new one.`);
  if (row.used)
    throw new AuthError('link_code_used', `Link code ${code} was used already; the extension shows a new one.`);
}

/**
 * The device's open link, with the device row locked: two links of one device at once queue here instead of
 * racing to the partial unique index.
 */
async function lockOpenLink(tx: Queryable, device: Address): Promise<WalletLinkRow | undefined> {
  const devices = await tx.query('select 1 from devices where address = $1 for update', [device]);
  if (devices.length === 0) throw new BaseError('not_found', `Device ${device} is not registered here.`);
  const rows = await tx.query<WalletLinkRow>(
    'select device, wallet, linked_at, unlinked_at from wallet_links where device = $1 and unlinked_at is null',
    [device],
  );
  return rows[0];
}

function rowOf<Row>(rows: Row[]): Row {
  const row = rows[0];
  if (!row) throw new Error('statement returned no row');
  return row;
}
