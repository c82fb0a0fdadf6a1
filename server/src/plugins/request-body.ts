import zlib from 'node:zlib';
import { BaseError } from '@protocol/errors';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact body bytes received: device signatures cover these, not the parsed JSON. */
    rawBody: Buffer | null;
  }
  interface FastifyContextConfig {
    /**
     * The route is device-signed: its body stays raw bytes until the signature over them is checked
     * (`deviceSigned` then calls `decodeJsonBody`), so an unauthenticated body is never inflated or parsed.
     */
    deviceSigned?: boolean;
  }
}

/** Limits on what one JSON body may become once inflated and parsed. */
export interface BodyLimits {
  /** Largest body after gzip inflation (a gzip bomb stops here, with 413). */
  maxInflatedBytes: number;
  /** Deepest nesting of arrays and objects. */
  maxDepth: number;
  /** Most values (array elements plus object members) in the whole document. */
  maxElements: number;
}

export const defaultBodyLimits: BodyLimits = {
  maxInflatedBytes: 32 * 1024 * 1024,
  maxDepth: 32,
  maxElements: 1_000_000,
};

/**
 * Checks nesting depth and element count in one pass over the JSON text, before `JSON.parse`
 * builds anything: a body of a million tiny values, or nested ten thousand deep, is refused cheaply.
 * Invalid JSON is left for `JSON.parse` to describe.
 */
export function checkJsonShape(text: string, limits: Pick<BodyLimits, 'maxDepth' | 'maxElements'>): string | null {
  return measureJson(text, limits, 0).problem;
}

/**
 * `checkJsonShape` for JSON Lines: each line is its own document (its nesting counted alone, so one broken
 * line cannot deepen the lines after it), and the values of all lines count toward one limit.
 */
export function checkJsonLinesShape(text: string, limits: Pick<BodyLimits, 'maxDepth' | 'maxElements'>): string | null {
  let elements = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    // The line's own value, as an element of the list of lines.
    const measured = measureJson(line, limits, elements + 1);
    if (measured.problem) return measured.problem;
    elements = measured.elements;
  }
  return null;
}

/** One pass over JSON text: its deepest nesting and its values, counted on from `elements`. */
function measureJson(
  text: string,
  limits: Pick<BodyLimits, 'maxDepth' | 'maxElements'>,
  counted: number,
): { problem: string | null; elements: number } {
  let depth = 0;
  let elements = counted;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i += 1;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      depth += 1;
      elements += 1;
      if (depth > limits.maxDepth) return { problem: `nested deeper than ${limits.maxDepth} levels`, elements };
      if (elements > limits.maxElements) return { problem: `more than ${limits.maxElements} values`, elements };
    } else if (c === 93 /* ] */ || c === 125 /* } */) depth -= 1;
    else if (c === 44 /* , */) {
      elements += 1;
      if (elements > limits.maxElements) return { problem: `more than ${limits.maxElements} values`, elements };
    }
  }
  return { problem: null, elements };
}

async function inflate(bytes: Buffer, encoding: string | string[] | undefined, limits: BodyLimits): Promise<Buffer> {
  const name = (Array.isArray(encoding) ? encoding[0] : encoding)?.trim().toLowerCase() || 'identity';
  if (name === 'identity') {
    if (bytes.length > limits.maxInflatedBytes) throw tooLarge(limits);
    return bytes;
  }
  if (name !== 'gzip') {
    throw new BaseError('bad_request', `Content-Encoding ${name} is not supported; send gzip or nothing.`);
  }
  try {
    // Inflated on libuv's thread pool, never on the event loop, and stopped at the cap.
    return await new Promise<Buffer>((resolve, reject) =>
      zlib.gunzip(bytes, { maxOutputLength: limits.maxInflatedBytes }, (error, result) =>
        error ? reject(error) : resolve(result),
      ),
    );
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || cause instanceof RangeError) throw tooLarge(limits);
    throw new BaseError('bad_request', `The gzip body could not be decompressed: ${(cause as Error).message}`);
  }
}

const tooLarge = (limits: BodyLimits) =>
  new BaseError(
    'payload_too_large',
    `The body inflates to more than ${Math.round(limits.maxInflatedBytes / (1024 * 1024))} MB; send smaller batches.`,
  );

/**
 * Turns a request's raw body into its JSON value: inflated asynchronously with a cap, checked for
 * depth and size, then parsed. Call it only once the request is authenticated.
 */
export async function decodeJsonBody(request: FastifyRequest, limits: BodyLimits = defaultBodyLimits): Promise<void> {
  const bytes = request.rawBody;
  if (!bytes || bytes.length === 0) return;
  const inflated = await inflate(bytes, request.headers['content-encoding'], limits);
  const text = inflated.toString('utf8');
  const problem = checkJsonShape(text, limits);
  if (problem) throw new BaseError('payload_too_large', `The JSON body is ${problem}.`);
  try {
    request.body = JSON.parse(text);
  } catch (cause) {
    throw new BaseError('bad_request', `The body is not valid JSON: ${(cause as Error).message}`);
  }
}

/**
 * JSON bodies (plain or gzip) are read as raw bytes only. Routes whose callers authenticate in
 * `onRequest` (buyers, operators) get them decoded before validation; device-signed routes decode
 * them in `deviceSigned`, after the signature over the raw bytes is checked.
 */
export function setupRequestBody(app: FastifyInstance, limits: BodyLimits = defaultBodyLimits): void {
  app.decorateRequest('rawBody', null);
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body as Buffer;
    done(null, undefined);
  });
  app.addHook('preValidation', async (request) => {
    if (request.routeOptions.config.deviceSigned) return;
    await decodeJsonBody(request, limits);
  });
}
