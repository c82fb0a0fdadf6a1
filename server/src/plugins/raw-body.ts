import { BaseError } from '@protocol/errors';
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact body bytes received: device signatures cover these, not the parsed JSON. */
    rawBody: Buffer | null;
  }
}

/** The body bytes of a request; empty when it had none. */
export const rawBodyOf = (request: { rawBody: Buffer | null }): Uint8Array => request.rawBody ?? new Uint8Array();

/** Parses JSON bodies while keeping their raw bytes for signature checks. */
export function setupRawBody(app: FastifyInstance): void {
  app.decorateRequest('rawBody', null);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    request.rawBody = bytes;
    if (bytes.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(bytes.toString('utf8')));
    } catch (cause) {
      done(new BaseError('bad_request', `The body is not valid JSON: ${(cause as Error).message}`), undefined);
    }
  });
}
