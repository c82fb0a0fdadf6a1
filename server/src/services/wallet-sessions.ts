import { createHash, randomBytes } from 'node:crypto';
import { type WalletSession, walletSignInStatement } from '@protocol/contributors';
import { BaseError } from '@protocol/errors';
import type { SignedSiweMessage } from '@protocol/wallets';
import type { Address } from 'viem';
import type { ServerIdentity } from '../app-context';
import type { Database } from '../db/database';
import { spendNonce } from './wallet-links';
import { checkSiweMessage, type SiweSignatureVerifier } from './wallet-siwe';

const sessionLifetimeMs = 24 * 3_600_000;
/** Ended sessions are kept a day (to say "expired" rather than "invalid"), then pruned at the next sign-in. */
const keepEndedHours = 24;
const tokenPrefix = 'gls_';

/** What a presented token turned out to be. */
type WalletSessionCheck = { ok: true; wallet: Address } | { ok: false; reason: 'invalid' | 'expired' };

/** Only the hash is stored: a database dump holds no usable token. */
function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Console sign-in with a wallet (SIWE): bearer tokens for the contributor endpoints, stored hashed. */
export function walletSessionService(db: Database, server: ServerIdentity, verify: SiweSignatureVerifier) {
  return {
    /**
     * Checks a sign-in message (this server's domain and chain, unexpired, the sign-in statement and nothing
     * else), spends its nonce and opens a session for the signing wallet: 24 hours, or until the message
     * expires if that is sooner, so a wallet's own expiry choice is honoured.
     */
    async signIn(signed: SignedSiweMessage): Promise<WalletSession> {
      const message = await checkSiweMessage(signed.message, signed.signature, server, verify);
      if (message.statement !== walletSignInStatement || (message.resources?.length ?? 0) > 0) {
        throw new BaseError(
          'siwe_message_invalid',
          `A sign-in message must say exactly "${walletSignInStatement}" and list no resources.`,
        );
      }
      const token = tokenPrefix + randomBytes(32).toString('base64url');
      const expiresAt = new Date(Math.min(Date.now() + sessionLifetimeMs, message.expirationTime.getTime()));
      await db.transaction(async (tx) => {
        await spendNonce(tx, message.nonce);
        await tx.query(`delete from wallet_sessions where expires_at < now() - make_interval(hours => $1)`, [
          keepEndedHours,
        ]);
        await tx.query('insert into wallet_sessions (token_sha256, wallet, expires_at) values ($1, $2, $3)', [
          tokenHash(token),
          message.address,
          expiresAt,
        ]);
      });
      return { token, wallet: message.address, expiresAt: expiresAt.toISOString() };
    },

    /** The wallet a token signs in, or why it does not. */
    async check(token: string): Promise<WalletSessionCheck> {
      if (!token.startsWith(tokenPrefix)) return { ok: false, reason: 'invalid' };
      const rows = await db.query<{ wallet: Address; expired: boolean; revoked: boolean }>(
        `select wallet, expires_at <= now() as expired, revoked_at is not null as revoked
           from wallet_sessions where token_sha256 = $1`,
        [tokenHash(token)],
      );
      const row = rows[0];
      if (!row || row.revoked) return { ok: false, reason: 'invalid' };
      if (row.expired) return { ok: false, reason: 'expired' };
      return { ok: true, wallet: row.wallet };
    },

    /** Signs a token out; signing out twice, or a token already expired, changes nothing. */
    async revoke(token: string): Promise<void> {
      await db.query('update wallet_sessions set revoked_at = now() where token_sha256 = $1 and revoked_at is null', [
        tokenHash(token),
      ]);
    },
  };
}

export type WalletSessionService = ReturnType<typeof walletSessionService>;
