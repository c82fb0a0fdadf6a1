import { createHash, timingSafeEqual } from 'node:crypto';
import { AuthError } from '@protocol/errors';
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { bearerToken } from './buyer-auth';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Builds the onRequest hook for the admin API: the operator token, compared in constant time. */
export function operatorAuth(operatorToken: string): preHandlerAsyncHookHandler {
  const expected = digest(operatorToken);
  return async (request: FastifyRequest) => {
    const token = bearerToken(request);
    if (!token || !timingSafeEqual(digest(token), expected)) {
      throw new AuthError(
        'operator_token_invalid',
        'The admin API needs the operator token (see GLEANER_OPERATOR_TOKEN or operator-token in the data folder).',
      );
    }
  };
}
