import { keptMediaTypes, mediaTypeOf, pageRequestHeaders } from '@protocol/extract/page-rules';
import type { FetchFailureCode } from '@protocol/results';
import { checkUrl } from '@protocol/url-guard';
import { type Resolver, type SafeFetchFailureCode, safeFetch } from '../net/safe-fetch';
import { type ExtractionPool, sharedExtractionPool } from './extraction-pool';

/*
 * The server's own copy of a page, for auditing a contributor's when no other device can: fetched under
 * the server's network rules (`safeFetch`) and read by the extension's own extraction
 * (`@protocol/extract`), so an unchanged page gives the same text and hash as the contributor's.
 *
 * The reading runs in a thread (extraction-pool.ts), on a DOM built as the browser's DOMParser builds it
 * (extract-worker-dom.ts): a hostile page keeps it busy for seconds, and on this thread every request
 * would wait that long.
 */

/** Result format limit of a Content-Type (`fetchedPageSchema`). */
const maxContentTypeLength = 200;
/** Redirects a browser follows before it gives up (Chromium's and Firefox's limit), so the server ends where a device would. */
const maxRedirects = 20;
/** Says who is fetching: the product token robots.txt rules are matched against. */
const userAgent = 'GleanerBot/0.1 (+page audit)';

export interface ServerFetchOptions {
  /** A body larger than this is refused as too_large, as the extension refuses it. */
  maxBytes: number;
  /** One deadline for the whole fetch, redirects and body included. */
  timeoutMs: number;
  /** Exact `http://127.0.0.1:PORT` origins a test may fetch although the URL rules forbid them. */
  allowedTestOrigins: readonly string[];
  /** The resolver, injectable for tests; the system resolver by default. */
  lookup?: Resolver;
  /** The threads that read the page, injectable for tests; the process's shared pool by default. */
  extraction?: ExtractionPool;
}

export type ServerPageFetch =
  | {
      ok: true;
      /** After redirects, normalized by the URL rules as the extension records it. */
      finalUrl: string;
      httpStatus: number;
      contentType: string;
      title: string;
      text: string;
      lang: string | null;
      canonicalUrl: string | null;
      /** SHA-256 of `normalizeText(text)`, as the contributor's result carries it. */
      textSha256: string;
    }
  | {
      ok: false;
      /** The code a device reports for the same failure (`fetchFailureCodes`). */
      code: FetchFailureCode;
      detail: string;
      /** The status of an answer that was not 2xx; null when no answer came. */
      httpStatus: number | null;
    };

type Failure = Extract<ServerPageFetch, { ok: false }>;

const fail = (code: FetchFailureCode, detail: string, httpStatus: number | null = null): Failure => ({
  ok: false,
  code,
  detail,
  httpStatus,
});

/** The device's code for each way `safeFetch` fails (its own code stays in the detail). */
const failureCodes: Record<SafeFetchFailureCode, FetchFailureCode> = {
  url_blocked: 'url_blocked',
  private_address: 'private_ip',
  dns_failed: 'network_error',
  redirect_blocked: 'redirect_blocked',
  too_many_redirects: 'too_many_redirects',
  timeout: 'timeout',
  network_error: 'network_error',
  too_large: 'too_large',
  unsupported_encoding: 'network_error',
};

/**
 * Fetches a page from the server and reads it exactly as the extension would: GET with the extension's
 * Accept headers through `safeFetch` (URL rules on every hop, only public addresses, connected to the
 * address checked, streamed byte cap, one deadline), a 2xx answer of HTML or plain text only, decoded
 * and extracted by `@protocol/extract` in a thread under its own deadline, its normalized text hashed.
 * Never throws: every failure comes back with the code a device would report.
 */
export async function fetchPageOnServer(url: string, options: ServerFetchOptions): Promise<ServerPageFetch> {
  try {
    const fetched = await safeFetch(url, {
      maxBytes: options.maxBytes,
      timeoutMs: options.timeoutMs,
      maxRedirects,
      onTooLarge: 'fail',
      allowedTestOrigins: options.allowedTestOrigins,
      headers: { ...pageRequestHeaders, 'user-agent': userAgent },
      lookup: options.lookup,
    });
    if (!fetched.ok) return fail(failureCodes[fetched.code], `${fetched.code}: ${fetched.detail}`);
    if (fetched.status < 200 || fetched.status > 299) {
      return fail('http_error', `The site answered HTTP ${fetched.status}.`, fetched.status);
    }
    const contentType = fetched.headers['content-type'] ?? null;
    const mediaType = mediaTypeOf(contentType);
    if (!contentType || !mediaType || !keptMediaTypes.includes(mediaType)) {
      return fail('content_type', `${mediaType ?? 'A missing content type'} is not a web page or plain text.`);
    }
    // The extension records the final URL as the URL rules normalize it, and resolves links against that.
    const final = checkUrl(fetched.finalUrl, { allowedTestOrigins: options.allowedTestOrigins });
    if (!final.ok) return fail('redirect_blocked', `Ended at ${fetched.finalUrl}: ${final.reason}`);

    const extracted = await (options.extraction ?? sharedExtractionPool()).extract({
      bytes: fetched.body,
      contentType,
      finalUrl: final.url,
    });
    if (!extracted.ok) return fail('extraction_failed', extracted.detail);
    return {
      ok: true,
      finalUrl: final.url,
      httpStatus: fetched.status,
      contentType: contentType.slice(0, maxContentTypeLength),
      ...extracted.page,
    };
  } catch (error) {
    return fail('network_error', `The server's fetch failed: ${messageOf(error)}`);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
