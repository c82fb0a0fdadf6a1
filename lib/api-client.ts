import { type Device, type DeviceRegistration, deviceSchema } from '@protocol/devices';
import { BaseError, errorBodySchema } from '@protocol/errors';
import { signRequest } from '@protocol/signing';
import type { LocalAccount } from 'viem';
import type { z } from 'zod';

export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  /** Base address of the Gleaner server, without a trailing slash. */
  serverUrl: string;
  account: LocalAccount;
  /** Injected so tests can answer like the server; defaults to the global fetch. */
  fetch?: FetchFn;
  timeoutMs?: number;
}

interface SignedRequest<T extends z.ZodType> {
  method: 'GET' | 'POST';
  /** Path (and query) below the server address, e.g. `/v1/devices/me`. */
  path: string;
  /** JSON body; sent as the exact bytes that were signed. */
  body?: unknown;
  /** Schema of a successful reply. */
  reply: T;
}

const defaultTimeoutMs = 15_000;

/**
 * Sends one request signed by the device key and returns its validated reply. Failures become a
 * BaseError: `server_unreachable` when no answer came, the server's own error when it sent one,
 * `server_rejected` for anything else.
 */
async function sendSignedRequest<T extends z.ZodType>(
  options: ApiClientOptions,
  request: SignedRequest<T>,
): Promise<z.output<T>> {
  const url = new URL(`${options.serverUrl.replace(/\/+$/, '')}${request.path}`);
  const server = url.origin;
  const body = request.body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(request.body));
  // The server verifies the signature over the path exactly as it receives it.
  const signature = await signRequest(options.account, {
    method: request.method,
    path: `${url.pathname}${url.search}`,
    body,
  });
  const headers: Record<string, string> = { ...signature, accept: 'application/json' };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  let response: Response;
  try {
    response = await doFetch(url.href, {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : body,
      // Never send the person's cookies or HTTP auth to the server, nor reuse a cached answer.
      credentials: 'omit',
      cache: 'no-store',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    const timedOut = cause instanceof DOMException && cause.name === 'TimeoutError';
    const message = timedOut
      ? `The Gleaner server at ${server} did not answer within ${Math.round(timeoutMs / 1000)} seconds.`
      : `Could not reach the Gleaner server at ${server}. Check your internet connection and the server address in Gleaner's settings.`;
    throw new BaseError('server_unreachable', message, { cause, details: { server } });
  }

  const json = await readJson(response);
  if (!response.ok) {
    const error = errorBodySchema.safeParse(json);
    if (error.success) throw BaseError.fromBody(error.data);
    throw new BaseError(
      'server_rejected',
      `The Gleaner server at ${server} refused the request (HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}).`,
      { details: { server, status: response.status } },
    );
  }
  const parsed = request.reply.safeParse(json);
  if (!parsed.success) {
    throw new BaseError('server_rejected', `The Gleaner server at ${server} answered with data Gleaner cannot read.`, {
      details: { server, status: response.status, issues: parsed.error.issues },
    });
  }
  return parsed.data;
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

/** The server's device endpoints, signed by this device's key. */
export function createApiClient(options: ApiClientOptions) {
  return {
    /** Registers (or re-registers: it is idempotent) this device with the server. */
    registerDevice(registration: DeviceRegistration): Promise<Device> {
      return sendSignedRequest(options, {
        method: 'POST',
        path: '/v1/devices',
        body: registration,
        reply: deviceSchema,
      });
    },
    /** This device as the server knows it; fails with `device_unknown` if it is not registered. */
    getOwnDevice(): Promise<Device> {
      return sendSignedRequest(options, { method: 'GET', path: '/v1/devices/me', reply: deviceSchema });
    },
  };
}
