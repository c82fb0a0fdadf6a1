import { BaseError, errorBodySchema } from '@protocol/errors';
import type { z } from 'zod';

/** How the console reaches the buyer API: every reply parsed with its protocol schema, every failure a BaseError. */
export interface ApiClient {
  /** Sends a request (a JSON body when `body` is given) and parses the reply with `schema`. */
  request<S extends z.ZodType>(path: string, schema: S, init?: ApiRequestInit): Promise<z.infer<S>>;
}

export interface ApiRequestInit {
  method?: 'GET' | 'POST' | 'DELETE';
  body?: unknown;
  signal?: AbortSignal;
}

export interface ApiClientOptions {
  /** The buyer's key (`glk_…`); requests go without Authorization when null. */
  apiKey: string | null;
  /** Origin of the API; empty means the page's own origin, which is where the server serves the console. */
  baseUrl?: string;
  fetch?: typeof fetch;
}

/** Builds the client the console's queries and mutations use. */
export function createApiClient({ apiKey, baseUrl = '', fetch: fetchImpl = fetch }: ApiClientOptions): ApiClient {
  return {
    async request(path, schema, init = {}) {
      const headers: Record<string, string> = {};
      if (apiKey) headers.authorization = `Bearer ${apiKey}`;
      if (init.body !== undefined) headers['content-type'] = 'application/json';
      let response: Response;
      try {
        response = await fetchImpl(`${baseUrl}${path}`, {
          method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
          headers,
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
          signal: init.signal,
        });
      } catch (cause) {
        if (init.signal?.aborted) throw cause;
        throw new BaseError(
          'server_unreachable',
          'The server is unreachable: check that it is running and that this computer is online.',
          { cause },
        );
      }
      const body = await readJson(response);
      if (!response.ok) throw errorFromReply(response, body);
      const parsed = schema.safeParse(body);
      if (!parsed.success) {
        throw new BaseError(
          'server_rejected',
          `The server's answer to ${path} is not what this console expects (is the console older than the server?).`,
          { details: parsed.error.issues },
        );
      }
      return parsed.data;
    },
  };
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The API's own words when it sent an error body; a code this console does not know yet still keeps its
 * message (a newer server may add codes), and a body that is no error body at all says what came back.
 */
export function errorFromReply(response: Pick<Response, 'status' | 'statusText'>, body: unknown): BaseError {
  const known = errorBodySchema.safeParse(body);
  if (known.success) return BaseError.fromBody(known.data);
  if (isRecord(body) && typeof body.message === 'string' && body.message !== '') {
    return new BaseError('server_rejected', body.message, { details: body });
  }
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  return new BaseError('server_rejected', `The server answered ${status} without saying why.`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The words to show for any error the console meets. */
export function describeError(error: unknown): string {
  if (error instanceof BaseError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
