import type { FailedFetch, FetchedPage, ScrapeResult } from '@protocol/results';
import { cleanStrings, cleanText } from './clean-text';
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
 * own text), cleans every string the server would refuse (NUL characters, unpaired surrogates),
 * hashes the normalized text as sent, and returns the result to upload with the fetch log row for
 * the person. Never throws: every failure becomes a failed result with its code.
 */
export async function scrapeJob(job: JobRow, deps: ScrapeJobDeps): Promise<ScrapeOutcome> {
  const at = deps.now();
  const base = {
    assignmentId: job.id,
    jobId: job.jobId,
    url: job.url.slice(0, limits.url),
    fetchedAt: new Date(at).toISOString(),
  };
  const logBase = { kind: 'page' as const, at, url: job.url, assignmentId: job.id, rejection: null };
  const failed = (failure: FetchFailure, bytesFetched: number): ScrapeOutcome => {
    const result: FailedFetch = cleanStrings({
      ...base,
      outcome: 'failed',
      bytesFetched,
      error: failure.code,
      detail: failure.detail.slice(0, limits.detail),
      httpStatus: failure.httpStatus,
      retryAfterSeconds: failure.retryAfterSeconds,
    });
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
  // A NUL in the body is dropped before extraction, so a page of nothing else is empty.
  const decoded = cleanText(decodeBody(body.bytes, body.contentType, isHtml));

  let extracted: ExtractedPage;
  try {
    extracted = isHtml
      ? await deps.extract({ html: decoded, url: body.finalUrl, collectLinks: job.collectLinks })
      : extractPlainText(decoded);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return failed(fetchFailure('extraction_failed', detail), bytesFetched);
  }

  // Cut to the format's limits first, then clean (which never lengthens a string and mends a
  // surrogate pair the cut split), then hash: the hash is of exactly the text uploaded.
  const page = cleanStrings<Omit<FetchedPage, 'textSha256'>>({
    ...base,
    outcome: 'fetched',
    bytesFetched,
    finalUrl: body.finalUrl.slice(0, limits.url),
    httpStatus: body.httpStatus,
    contentType: body.contentType.slice(0, limits.contentType),
    title: extracted.title.slice(0, limits.title),
    text: extracted.text.slice(0, limits.text),
    lang: extracted.lang,
    canonicalUrl: extracted.canonicalUrl,
    links: job.collectLinks ? extracted.links : [],
    ...(job.keepRawHtml && isHtml ? { html: decoded.slice(0, limits.html) } : {}),
  });
  const result: FetchedPage = { ...page, textSha256: await textSha256(page.text) };
  return {
    result,
    log: { ...logBase, status: body.httpStatus, bytes: bytesFetched, outcome: 'ok', reason: null },
  };
}
