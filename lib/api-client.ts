import { type Device, type DeviceRegistration, deviceSchema } from '@protocol/devices';
import { BaseError, errorBodySchema } from '@protocol/errors';
import { type LeaseResponse, leaseResponseSchema } from '@protocol/jobs';
import {
  type LabelerStanding,
  type LabelingProjects,
  type LeasedTask,
  labelerStandingSchema,
  labelingProjectsSchema,
  taskLeaseResponseSchema,
} from '@protocol/labeling';
import {
  type DevicePointsByDay,
  devicePointsByDaySchema,
  type PointsSummary,
  pointsSummarySchema,
} from '@protocol/points';
import { type ResultBatchAck, resultBatchAckSchema } from '@protocol/results';
import { type DeviceSession, sessionRequestHeaders, sessionSchema } from '@protocol/sessions';
import { defaultChainId, hashBody, signRequest } from '@protocol/signing';
import { type DeviceLinkCode, type DeviceWallet, deviceLinkCodeSchema, deviceWalletSchema } from '@protocol/wallets';
import type { LocalAccount } from 'viem';
import type { z } from 'zod';
import { acquireDeviceSession, dropDeviceSession } from './device-session';
import { retryAfterSecondsOf } from './fetcher/response-checks';
import { gzip } from './gzip';

export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  /** Base address of the Gleaner server, without a trailing slash. */
  serverUrl: string;
  account: LocalAccount;
  /** Injected so tests can answer like the server; defaults to the global fetch. */
  fetch?: FetchFn;
  timeoutMs?: number;
  /** Chain named in every signature's domain, with the server's origin; the server must agree. */
  chainId?: number;
  /** The clock a Retry-After given as an HTTP date and a session's lifetime are read against; defaults to Date.now. */
  now?: () => number;
  /**
   * Authenticate requests by a device session after one signed handshake (protocol/sessions.ts), the
   * default; false signs every request with the device key, as before sessions.
   */
  sessions?: boolean;
}

interface SignedRequest<T extends z.ZodType> {
  method: 'GET' | 'POST';
  /** Path (and query) below the server address, e.g. `/v1/devices/me`. */
  path: string;
  /** JSON body; sent as the exact bytes that were signed. */
  body?: unknown;
  /** Gzip the JSON body (`content-encoding: gzip`); the signature covers the compressed bytes sent. */
  gzip?: boolean;
  /** Schema of a successful reply. */
  reply: T;
  /** Overrides the client's time limit (uploads may be large). */
  timeoutMs?: number;
}

const defaultTimeoutMs = 15_000;
const uploadTimeoutMs = 60_000;

/**
 * The longest Retry-After the extension honours from its server; a longer one counts as this, so a
 * misconfigured server cannot silence every device for days.
 */
export const maxServerRetryAfterSeconds = 3_600;

/** What the client adds to the details of an error the server answered with: its HTTP status and wait. */
interface HttpDetails {
  server: string;
  status: number;
  /** A 429 or 503's Retry-After in seconds (delay or HTTP date), at most `maxServerRetryAfterSeconds`. */
  retryAfterSeconds?: number;
}

function httpDetailsOf(response: Response, server: string, now: number): HttpDetails {
  const details: HttpDetails = { server, status: response.status };
  if (response.status === 429 || response.status === 503) {
    const seconds = retryAfterSecondsOf(response.headers.get('retry-after'), now);
    if (seconds !== null) details.retryAfterSeconds = Math.min(seconds, maxServerRetryAfterSeconds);
  }
  return details;
}

function detailsRecord(error: unknown): Record<string, unknown> | null {
  if (!(error instanceof BaseError)) return null;
  const { details } = error;
  return typeof details === 'object' && details !== null ? (details as Record<string, unknown>) : null;
}

/**
 * Whether a successful status came with an answer of the Gleaner server that does not fit the
 * protocol (JSON, not redirected), rather than a page of something in between (a captive portal).
 */
export function isUnreadableServerAnswer(error: unknown): boolean {
  const details = detailsRecord(error);
  return error instanceof BaseError && error.code === 'server_rejected' && details?.fromServer === true;
}

/** The HTTP status the server answered a failed request with; null when it did not answer (or for other errors). */
export function serverStatusOf(error: unknown): number | null {
  const status = detailsRecord(error)?.status;
  return typeof status === 'number' ? status : null;
}

/** How long the server asked to wait (429 or 503 with Retry-After), in seconds; null when it did not say. */
export function serverRetryAfterSecondsOf(error: unknown): number | null {
  const seconds = detailsRecord(error)?.retryAfterSeconds;
  return typeof seconds === 'number' && seconds >= 0 ? Math.min(seconds, maxServerRetryAfterSeconds) : null;
}

/** A request ready to go: its address and the exact body bytes every authentication covers. */
interface PreparedRequest {
  url: URL;
  /** The server's origin, as signatures and session keys name it. */
  server: string;
  /** Path and query exactly as sent: the server authenticates the path it receives. */
  path: string;
  body: Uint8Array;
}

async function prepareRequest(options: ApiClientOptions, request: SignedRequest<z.ZodType>): Promise<PreparedRequest> {
  const url = new URL(`${options.serverUrl.replace(/\/+$/, '')}${request.path}`);
  const encoded =
    request.body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(request.body));
  const body = request.gzip && request.body !== undefined ? await gzip(encoded) : encoded;
  return { url, server: url.origin, path: `${url.pathname}${url.search}`, body };
}

/** The headers of a request signed by the device key itself (a fresh nonce each time). */
function signatureHeadersOf(
  options: ApiClientOptions,
  request: SignedRequest<z.ZodType>,
  prepared: PreparedRequest,
): Promise<Record<string, string>> {
  return signRequest(
    options.account,
    { method: request.method, path: prepared.path, body: prepared.body },
    { origin: prepared.server, chainId: options.chainId ?? defaultChainId },
  );
}

/**
 * Sends one prepared request with the given authentication headers and returns its validated reply.
 * Failures become a BaseError: `server_unreachable` when no answer came, the server's own error when it
 * sent one, `server_rejected` for anything else; an answered one has the HTTP `status` in its details, and
 * a 429 or 503 its `retryAfterSeconds`.
 */
async function exchange<T extends z.ZodType>(
  options: ApiClientOptions,
  request: SignedRequest<T>,
  prepared: PreparedRequest,
  auth: Record<string, string>,
): Promise<z.output<T>> {
  const { url, server, body } = prepared;
  const headers: Record<string, string> = { ...auth, accept: 'application/json' };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  if (request.gzip && request.body !== undefined) headers['content-encoding'] = 'gzip';
  const timeoutMs = request.timeoutMs ?? options.timeoutMs ?? defaultTimeoutMs;
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  let response: Response;
  try {
    response = await doFetch(url.href, {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : (body as Uint8Array<ArrayBuffer>),
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
    const http = httpDetailsOf(response, server, (options.now ?? Date.now)());
    const error = errorBodySchema.safeParse(json);
    if (error.success) {
      const { code, message, details } = error.data;
      // The HTTP facts go beside the server's own details (an object), or hold them as `serverDetails`.
      const merged =
        details === undefined
          ? http
          : typeof details === 'object' && details !== null && !Array.isArray(details)
            ? { ...details, ...http }
            : { ...http, serverDetails: details };
      throw new BaseError(code, message, { details: merged });
    }
    throw new BaseError(
      'server_rejected',
      `The Gleaner server at ${server} refused the request (HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}).`,
      { details: http },
    );
  }
  const parsed = request.reply.safeParse(json);
  if (!parsed.success) {
    // Whether the answer was JSON and came without a redirect: otherwise something else answered (a
    // captive portal's login page, a proxy), not the Gleaner server.
    const fromServer = json !== undefined && !response.redirected;
    throw new BaseError('server_rejected', `The Gleaner server at ${server} answered with data Gleaner cannot read.`, {
      details: { server, status: response.status, fromServer, issues: parsed.error.issues },
    });
  }
  return parsed.data;
}

/** Sends one request signed by the device key itself: registration and the session handshake always go so. */
async function sendSignedRequest<T extends z.ZodType>(
  options: ApiClientOptions,
  request: SignedRequest<T>,
): Promise<z.output<T>> {
  const prepared = await prepareRequest(options, request);
  return exchange(options, request, prepared, await signatureHeadersOf(options, request, prepared));
}

/** The codes a server answers a session request with when the session, not the request, is at fault. */
const sessionRefusals: ReadonlySet<string> = new Set(['session_unknown', 'nonce_replayed', 'signature_invalid']);

function isSessionRefusal(error: unknown): error is BaseError {
  return error instanceof BaseError && sessionRefusals.has(error.code) && serverStatusOf(error) === 401;
}

/**
 * Sends one request under this device's session with the server (opening one when needed), or signed by the
 * device key when sessions are off or the server does not take them. A request the server refuses for a
 * session reason is sent once more, signed: no request ever fails because of its session.
 */
async function sendDeviceRequest<T extends z.ZodType>(
  options: ApiClientOptions,
  request: SignedRequest<T>,
): Promise<z.output<T>> {
  if (options.sessions === false) return sendSignedRequest(options, request);
  const now = options.now ?? Date.now;
  const prepared = await prepareRequest(options, request);
  const device = options.account.address;
  const ticket = await acquireDeviceSession(prepared.server, device, now, (publicKey) =>
    openSession(options, publicKey),
  );
  if (ticket === null) {
    return exchange(options, request, prepared, await signatureHeadersOf(options, request, prepared));
  }
  const auth = await sessionRequestHeaders(ticket.session.key, ticket.session.sessionId, {
    method: request.method,
    path: prepared.path,
    bodyHash: hashBody(prepared.body),
    counter: ticket.counter,
  });
  try {
    return await exchange(options, request, prepared, auth);
  } catch (error) {
    if (!isSessionRefusal(error)) throw error;
    dropDeviceSession(
      prepared.server,
      device,
      ticket.session,
      error.code === 'session_unknown' ? 'session_unknown' : 'refused',
      now(),
    );
    return exchange(options, request, prepared, await signatureHeadersOf(options, request, prepared));
  }
}

/**
 * The signed handshake of a session. A server that answers it with a refusal that is not about load or
 * this device (404 from a server without the route, 400, 401, another 4xx or 500, an answer it cannot
 * have meant) is taken not to open sessions, and its requests go signed; no answer, a captive portal,
 * 429, 502, 503, 504 or `device_unknown` fail the request as they would have failed it signed.
 */
async function openSession(options: ApiClientOptions, publicKey: string): Promise<DeviceSession | 'unsupported'> {
  try {
    return await sendSignedRequest(options, {
      method: 'POST',
      path: '/v1/devices/sessions',
      body: { publicKey },
      reply: sessionSchema,
    });
  } catch (error) {
    if (!(error instanceof BaseError) || error.code === 'device_unknown') throw error;
    const status = serverStatusOf(error);
    if (status === null || status === 429 || status === 502 || status === 503 || status === 504) throw error;
    if (status < 400 && !isUnreadableServerAnswer(error)) throw error;
    return 'unsupported';
  }
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

/**
 * The server's device endpoints, authenticated by this device's key: registration signed, the rest under a
 * device session when the server takes them.
 */
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
      return sendDeviceRequest(options, { method: 'GET', path: '/v1/devices/me', reply: deviceSchema });
    },
    /** Leases up to `max` pages to fetch (at most one per site per call). */
    leaseJobs(max: number): Promise<LeaseResponse> {
      return sendDeviceRequest(options, {
        method: 'POST',
        path: '/v1/jobs/lease',
        body: { max },
        reply: leaseResponseSchema,
      });
    },
    /**
     * Uploads a batch of results, gzipped. The server acknowledges each record on its own and
     * answers a batch id it has seen before with its first answer, so a retry is safe.
     */
    uploadResults(batchId: string, results: readonly unknown[]): Promise<ResultBatchAck> {
      return sendDeviceRequest(options, {
        method: 'POST',
        path: '/v1/results',
        body: { batchId, results },
        gzip: true,
        reply: resultBatchAckSchema,
        timeoutMs: uploadTimeoutMs,
      });
    },
    /**
     * Leases up to `max` labeling tasks: never an item this labeler saw, gold mixed in, pairwise
     * answers as left/right in this assignment's order; each lease runs out after 15 minutes.
     */
    async leaseTasks(max: number, projectId: string | null = null): Promise<LeasedTask[]> {
      const reply = await sendDeviceRequest(options, {
        method: 'POST',
        path: '/v1/tasks/lease',
        body: projectId === null ? { max } : { max, projectId },
        reply: taskLeaseResponseSchema,
      });
      return reply.tasks;
    },
    /** The projects with work for this labeler, with the crowd's progress and the labeler's own count. */
    listLabelingProjects(): Promise<LabelingProjects> {
      return sendDeviceRequest(options, { method: 'GET', path: '/v1/tasks/projects', reply: labelingProjectsSchema });
    },
    /** The labeler's accuracy on gold, whether their labels count (and why not), and label points. */
    getLabelerStanding(): Promise<LabelerStanding> {
      return sendDeviceRequest(options, {
        method: 'GET',
        path: '/v1/devices/me/labeling',
        reply: labelerStandingSchema,
      });
    },
    /** Points pending, verified and rejected, with the reason for each recent rejection. */
    getPoints(): Promise<PointsSummary> {
      return sendDeviceRequest(options, { method: 'GET', path: '/v1/devices/me/points', reply: pointsSummarySchema });
    },
    /** Points by state and labels per day over the last `days`, grouped by the person's IANA time zone. */
    getPointsByDay(days: number, timeZone: string): Promise<DevicePointsByDay> {
      const query = new URLSearchParams({ days: String(days), timeZone });
      return sendDeviceRequest(options, {
        method: 'GET',
        path: `/v1/devices/me/points-by-day?${query}`,
        reply: devicePointsByDaySchema,
      });
    },
    /** A fresh one-time code (about 10 minutes) that a wallet names, with this device, to link it on the console. */
    createLinkCode(): Promise<DeviceLinkCode> {
      return sendDeviceRequest(options, {
        method: 'POST',
        path: '/v1/devices/me/link-code',
        reply: deviceLinkCodeSchema,
      });
    },
    /** The wallet this device's points go to and since when; `link` is null while it earns unlinked. */
    getWallet(): Promise<DeviceWallet> {
      return sendDeviceRequest(options, { method: 'GET', path: '/v1/devices/me/wallet', reply: deviceWalletSchema });
    },
  };
}
