import { gunzipSync } from 'node:zlib';
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

/** Largest decompressed body accepted: a gzip bomb stops here. */
const maxDecodedBytes = 256 * 1024 * 1024;

function decodeBody(bytes: Buffer, encoding: string | string[] | undefined): string {
  const name = (Array.isArray(encoding) ? encoding[0] : encoding)?.trim().toLowerCase() ?? 'identity';
  if (name === 'identity') return bytes.toString('utf8');
  if (name !== 'gzip')
    throw new BaseError('bad_request', `Content-Encoding ${name} is not supported; send gzip or nothing.`);
  try {
    return gunzipSync(bytes, { maxOutputLength: maxDecodedBytes }).toString('utf8');
  } catch (cause) {
    throw new BaseError('bad_request', `The gzip body could not be decompressed: ${(cause as Error).message}`);
  }
}

/** Parses JSON bodies (plain or gzip) while keeping their raw bytes for signature checks. */
export function setupRawBody(app: FastifyInstance): void {
  app.decorateRequest('rawBody', null);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    request.rawBody = bytes;
    if (bytes.length === 0) return done(null, undefined);
    let text: string;
    try {
      text = decodeBody(bytes, request.headers['content-encoding']);
    } catch (error) {
      return done(error as Error, undefined);
    }
    try {
      done(null, JSON.parse(text));
    } catch (cause) {
      done(new BaseError('bad_request', `The body is not valid JSON: ${(cause as Error).message}`), undefined);
    }
  });
}
