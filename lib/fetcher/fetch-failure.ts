import type { FetchFailureCode } from '@protocol/results';

/** Why a page fetch produced no page: the code and words that go into the failed result and the fetch log. */
export interface FetchFailure {
  code: FetchFailureCode;
  /** For people: what happened, in words. */
  detail: string;
  /** The HTTP status when the site answered with an error. */
  httpStatus: number | null;
  /** Retry-After of a 429 or 503, in seconds. */
  retryAfterSeconds: number | null;
}

/** A failure with the given code and words, without HTTP details. */
export function fetchFailure(
  code: FetchFailureCode,
  detail: string,
  http: { httpStatus?: number | null; retryAfterSeconds?: number | null } = {},
): FetchFailure {
  return { code, detail, httpStatus: http.httpStatus ?? null, retryAfterSeconds: http.retryAfterSeconds ?? null };
}

/**
 * The reason given to `AbortController.abort()` when a guard stops a fetch, so the code that sees
 * the rejected fetch (or body read) knows which rule stopped it.
 */
export class FetchAbort extends Error {
  override name = 'FetchAbort';
  constructor(readonly failure: FetchFailure) {
    super(failure.detail);
  }
}
