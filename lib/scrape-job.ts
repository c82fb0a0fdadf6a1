import type { FailedFetch, FetchedPage, ScrapeResult } from '@protocol/results';
import type { JobRow } from './db';
import type { ExtractedPage, ExtractionInput } from './extract/extract-page';
import { extractPlainText } from './extract/extract-page';
import { textSha256 } from './extract/text-hash';
import { type NewFetchLogRow, outcomeOfFailure } from './fetch-log';
import { decodeBody } from './fetcher/decode-text';
import { type FetchFailure, fetchFailure } from './fetcher/fetch-failure';
import type { PageFetch, PageRequest } from './fetcher/fetch-page';

export interface ScrapeJobDeps {
  fetchPage: (request: PageRequest) => Promise<PageFetch>;
  /** Extracts an HTML page (in an offscreen document on Chrome, in the background page on Firefox). */
  extract: (input: ExtractionInput) => Promise<ExtractedPage>;
  now: () => number;
}

export interface ScrapeOutcome {
  result: ScrapeResult;
  log: NewFetchLogRow;
}

/** Limits of the result format (`@protocol/results`). */
const limits = { url: 4_096, title: 2_000, text: 5_000_000, contentType: 200, html: 20_000_000, detail: 1_000 };

/**
 * Does one leased job: fetches the page under the fetcher's rules, extracts it (plain text is its
 * own text), hashes the normalized text, and returns the result to upload with the fetch log row
 * for the person. Never throws: every failure becomes a failed result with its code.
 */
export async function scrapeJob(job: JobRow, deps: ScrapeJobDeps): Promise<ScrapeOutcome> {
  const at = deps.now();
  const base = {
    assignmentId: job.id,
    jobId: job.jobId,
    url: job.url.slice(0, limits.url),
    fetchedAt: new Date(at).toISOString(),
  };
  const logBase = { at, url: job.url, assignmentId: job.id, rejection: null };
  const failed = (failure: FetchFailure, bytesFetched: number): ScrapeOutcome => {
    const result: FailedFetch = {
      ...base,
      outcome: 'failed',
      bytesFetched,
      error: failure.code,
      detail: failure.detail.slice(0, limits.detail),
      httpStatus: failure.httpStatus,
      retryAfterSeconds: failure.retryAfterSeconds,
    };
    const log: NewFetchLogRow = {
      ...logBase,
      status: failure.httpStatus,
      bytes: bytesFetched,
      outcome: outcomeOfFailure(failure.code),
      reason: `${failure.code}: ${failure.detail}`,
    };
    return { result, log };
  };

  const fetched = await deps.fetchPage({ url: job.url, maxBytes: job.maxBytes, timeoutMs: job.timeoutMs });
  if (!fetched.ok) return failed(fetched.failure, fetched.bytesFetched);
  const { body, bytesFetched } = fetched;
  const isHtml = body.mediaType === 'text/html';
  const decoded = decodeBody(body.bytes, body.contentType, isHtml);

  let page: ExtractedPage;
  try {
    page = isHtml
      ? await deps.extract({ html: decoded, url: body.finalUrl, collectLinks: job.collectLinks })
      : extractPlainText(decoded);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return failed(fetchFailure('extraction_failed', detail), bytesFetched);
  }

  // Cut to the format's limits before hashing (and keep it well formed, as the server does), so the
  // hash is of exactly the text uploaded.
  const text = page.text.slice(0, limits.text).toWellFormed();
  const result: FetchedPage = {
    ...base,
    outcome: 'fetched',
    bytesFetched,
    finalUrl: body.finalUrl.slice(0, limits.url),
    httpStatus: body.httpStatus,
    contentType: body.contentType.slice(0, limits.contentType),
    title: page.title.slice(0, limits.title).toWellFormed(),
    text,
    lang: page.lang,
    canonicalUrl: page.canonicalUrl,
    links: job.collectLinks ? page.links : [],
    textSha256: await textSha256(text),
    ...(job.keepRawHtml && isHtml ? { html: decoded.slice(0, limits.html).toWellFormed() } : {}),
  };
  return {
    result,
    log: { ...logBase, status: body.httpStatus, bytes: bytesFetched, outcome: 'ok', reason: null },
  };
}
