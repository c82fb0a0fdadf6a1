import { AuthError } from '@protocol/errors';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Address } from 'viem';
import type { WalletSessionService } from '../services/wallet-sessions';
import { bearerToken } from './buyer-auth';

declare module 'fastify' {
  interface FastifyRequest {
    /** The wallet whose console session token authenticated this request. */
    wallet: Address | null;
  }
}

/** The onRequest hook of contributor routes: a live `gls_` session token, or 401 with a stable code. */
export function walletSessionAuth(sessions: WalletSessionService): onRequestAsyncHookHandler {
  return async (request: FastifyRequest) => {
    const token = bearerToken(request);
    if (token === undefined) {
      throw new AuthError(
        'wallet_session_missing',
        'This endpoint needs a wallet session: sign in with the wallet and send "Authorization: Bearer gls_…".',
      );
    }
    const check = await sessions.check(token);
    if (!check.ok) {
      if (check.reason === 'expired') {
        throw new AuthError(
          'wallet_session_expired',
          'This wallet session has expired; sign in with the wallet again.',
        );
      }
      throw new AuthError('wallet_session_invalid', 'This wallet session token is not valid (or was signed out).');
    }
    request.wallet = check.wallet;
  };
}
