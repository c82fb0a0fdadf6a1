import type { Buyer } from '@protocol/buyers';
import { AuthError } from '@protocol/errors';
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Database } from '../db/database';
import { buyerRepository } from '../repositories/buyer-repository';

declare module 'fastify' {
  interface FastifyRequest {
    /** The buyer whose API key authenticated this request. */
    buyer: Buyer | null;
  }
}

/** Reads `Authorization: Bearer <token>`; undefined when absent. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? '';
}

/** Builds the onRequest hook for buyer routes (it runs before the body is read or validated): a valid, unrevoked API key or 401 with a stable code. */
export function buyerAuth(db: Database): preHandlerAsyncHookHandler {
  const buyers = buyerRepository(db);
  return async (request: FastifyRequest) => {
    const token = bearerToken(request);
    if (token === undefined) {
      throw new AuthError(
        'api_key_missing',
        'This endpoint needs a buyer API key: send "Authorization: Bearer glk_…".',
      );
    }
    const check = await buyers.checkApiKey(token);
    if (!check.ok) {
      if (check.reason === 'revoked')
        throw new AuthError('api_key_revoked', 'This API key was revoked; ask an operator for a new one.');
      throw new AuthError('api_key_invalid', 'This API key is not valid.');
    }
    request.buyer = check.buyer;
  };
}
