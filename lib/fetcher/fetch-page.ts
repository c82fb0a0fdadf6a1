import { checkUrl } from '@protocol/url-guard';
import { FetchAbort, type FetchFailure, fetchFailure } from './fetch-failure';
import type { NetworkMonitor, NetworkWatch, Observation } from './network-monitor';
import { judgeConnectedIp, type NetworkPolicy } from './network-verdicts';
import { readCapped } from './read-capped';
import { pageAccept, pageRequestInit } from './request-init';
import { keptMediaTypes, mediaTypeOf, retryAfterSecondsOf } from './response-checks';

export type PageFetchFn = (input: string, init: RequestInit) => Promise<Response>;

export interface FetchPageDeps {
  fetch: PageFetchFn;
  monitor: NetworkMonitor;
  policy: NetworkPolicy;
  now: () => number;
}

export interface PageRequest {
  url: string;
  maxBytes: number;
  timeoutMs: number;
}

/** What a guarded fetch asks for and keeps: a page (HTML, plain text) or, for the popup, an image. */
export interface GuardedRequest extends PageRequest {
  /** What is fetched, in the words of failures: `page`, `image`. */
  what: string;
  /** The Accept header (the only other header is Accept-Language). */
  accept: string;
  /** The media types whose body is read; any other is refused unread. */
  keptMediaTypes: readonly string[];
  /** Why a response of another media type (or none) is refused, in words. */
  refuseType: (mediaType: string | null) => string;
}

/** A page that passed every rule, with its body bytes. */
export interface FetchedBody {
  finalUrl: string;
  httpStatus: number;
  /** The Content-Type header as sent. */
  contentType: string;
  /** One of the request's kept media types: `text/html` or `text/plain` for a page. */
  mediaType: string;
  bytes: Uint8Array;
}

export type PageFetch =
  | { ok: true; body: FetchedBody; bytesFetched: number }
  | { ok: false; failure: FetchFailure; bytesFetched: number };

/** How long to wait, after a response or a failure, for the browser's report of the connection. */
const observationWaitMs = 3_000;

function abortFailure(signal: AbortSignal): FetchFailure | null {
  return signal.aborted && signal.reason instanceof FetchAbort ? signal.reason.failure : null;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Names the failure of a fetch that rejected: a guard's abort, a request the network rules blocked, or the network. */
async function failureOfRejectedFetch(
  what: string,
  error: unknown,
  signal: AbortSignal,
  watch: NetworkWatch,
): Promise<FetchFailure> {
  const aborted = abortFailure(signal);
  if (aborted) return aborted;
  const seen: Observation = await watch.settled(observationWaitMs);
  if (seen.violation) return seen.violation;
  if (seen.error?.includes('ERR_BLOCKED_BY_CLIENT')) {
    return seen.hops > 0
      ? fetchFailure('redirect_blocked', 'A redirect led to an address Gleaner never fetches; it was blocked.')
      : fetchFailure('url_blocked', 'The address is one Gleaner never fetches; it was blocked.');
  }
  return fetchFailure('network_error', `The ${what} could not be fetched: ${seen.error ?? messageOf(error)}`);
}

/** What a page fetch asks for and keeps: HTML and plain text only. */
const pageRequest = {
  what: 'page',
  accept: pageAccept,
  keptMediaTypes,
  refuseType: (mediaType: string | null) => `${mediaType ?? 'A missing content type'} is not a web page or plain text.`,
};

/**
 * Fetches one assigned page under every rule of DESIGN §4: the URL is checked before anything is
 * sent; the request is a credential-less, uncached GET with only the allowed headers; redirect
 * hops and the connected address are judged by the network monitor (and blocked beforehand by the
 * network rules), any violation aborting the fetch and discarding the body; only HTML and plain
 * text are read, streamed under a byte cap and within a time limit. Never throws: every outcome
 * is a page or a failure, with the bytes that actually arrived.
 */
export function fetchPage(request: PageRequest, deps: FetchPageDeps): Promise<PageFetch> {
  return fetchGuarded({ ...request, ...pageRequest }, deps);
}

/**
 * One fetch from the person's connection under every rule of `fetchPage`, for what the request
 * names (its Accept header, the media types it keeps): pages, and the images the popup shows.
 */
export async function fetchGuarded(request: GuardedRequest, deps: FetchPageDeps): Promise<PageFetch> {
  const checked = checkUrl(request.url, { allowedTestOrigins: deps.policy.allowedTestOrigins });
  if (!checked.ok) return { ok: false, failure: fetchFailure('url_blocked', checked.reason), bytesFetched: 0 };

  const controller = new AbortController();
  const stop = (failure: FetchFailure) => {
    if (!controller.signal.aborted) controller.abort(new FetchAbort(failure));
  };
  const seconds = Math.round(request.timeoutMs / 100) / 10;
  const timer = setTimeout(
    () => stop(fetchFailure('timeout', `The ${request.what} did not arrive within ${seconds} seconds.`)),
    request.timeoutMs,
  );
  const watch = deps.monitor.watch(checked.url, stop);
  const failed = (failure: FetchFailure, bytesFetched: number): PageFetch => {
    stop(failure);
    return { ok: false, failure, bytesFetched };
  };

  try {
    let response: Response;
    try {
      response = await deps.fetch(checked.url, pageRequestInit(controller.signal, request.accept));
    } catch (error) {
      return failed(await failureOfRejectedFetch(request.what, error, controller.signal, watch), 0);
    }

    const finalUrl = response.url || checked.url;
    const finalCheck = checkUrl(finalUrl, { allowedTestOrigins: deps.policy.allowedTestOrigins });
    if (!finalCheck.ok)
      return failed(fetchFailure('redirect_blocked', `Ended at ${finalUrl}: ${finalCheck.reason}`), 0);
    if (!response.ok) {
      const retryAfterSeconds =
        response.status === 429 || response.status === 503
          ? retryAfterSecondsOf(response.headers.get('retry-after'), deps.now())
          : null;
      return failed(
        fetchFailure('http_error', `The site answered HTTP ${response.status}.`, {
          httpStatus: response.status,
          retryAfterSeconds,
        }),
        0,
      );
    }
    const contentType = response.headers.get('content-type');
    const mediaType = mediaTypeOf(contentType);
    if (!mediaType || !request.keptMediaTypes.includes(mediaType)) {
      return failed(fetchFailure('content_type', request.refuseType(mediaType)), 0);
    }
    const declaredLength = Number(response.headers.get('content-length') ?? Number.NaN);
    if (declaredLength > request.maxBytes) {
      return failed(tooLarge(request.what, request.maxBytes), 0);
    }

    const read = await readCapped(response.body, request.maxBytes);
    if (read.status === 'too_large') return failed(tooLarge(request.what, request.maxBytes), read.received);
    if (read.status === 'failed') {
      const failure =
        abortFailure(controller.signal) ??
        fetchFailure('network_error', `The ${request.what} broke off: ${messageOf(read.error)}`);
      return failed(failure, read.received);
    }

    // The browser reports the connected address apart from the response: wait for it, and
    // discard the body unless it came from a public address.
    const seen = await watch.settled(observationWaitMs);
    const unsafe =
      abortFailure(controller.signal) ?? seen.violation ?? judgeConnectedIp(finalUrl, seen.ip, deps.policy);
    if (unsafe) return failed(unsafe, read.bytes.byteLength);

    return {
      ok: true,
      body: {
        finalUrl: finalCheck.url,
        httpStatus: response.status,
        contentType: contentType ?? mediaType,
        mediaType,
        bytes: read.bytes,
      },
      bytesFetched: read.bytes.byteLength,
    };
  } finally {
    clearTimeout(timer);
    watch.dispose();
  }
}

function tooLarge(what: string, maxBytes: number): FetchFailure {
  return fetchFailure('too_large', `The ${what} is larger than ${maxBytes} bytes; it was not kept.`);
}
