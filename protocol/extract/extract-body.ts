import { cleanText } from '../clean-text';
import { decodeBody } from './decode-text';
import { type ExtractedPage, type ExtractionDom, extractPage, extractPlainText } from './extract-page';
import { mediaTypeOf } from './page-rules';

/** Limits of the result format (`fetchedPageSchema` in ../results.ts). */
const maxTitleLength = 2_000;
const maxTextLength = 5_000_000;

/** A page body that passed the fetch rules: HTML or plain text (`keptMediaTypes`), with where it ended up. */
export interface PageBody {
  bytes: Uint8Array;
  /** The Content-Type header as sent. */
  contentType: string;
  /** The URL after redirects: links and the canonical URL resolve against it. */
  finalUrl: string;
}

/**
 * What a result keeps of a fetched body, in the extension's order (lib/scrape-job.ts): decoded as a
 * browser would (`decodeBody`), cleaned, extracted (HTML) or kept whole (plain text), cut to the
 * result format's limits and cleaned again (a cut can split a surrogate pair). The server audits a
 * page through this function, so its text hashes like the contributor's when the page is the same.
 * Throws ExtractionError when the page has no readable text.
 */
export function extractBody(body: PageBody, options: ExtractionDom & { collectLinks: boolean }): ExtractedPage {
  const isHtml = mediaTypeOf(body.contentType) === 'text/html';
  const decoded = cleanText(decodeBody(body.bytes, body.contentType, isHtml));
  const page = isHtml
    ? extractPage({ html: decoded, url: body.finalUrl, collectLinks: options.collectLinks }, options)
    : extractPlainText(decoded);
  return {
    title: cleanText(page.title.slice(0, maxTitleLength)),
    text: cleanText(page.text.slice(0, maxTextLength)),
    lang: page.lang === null ? null : cleanText(page.lang),
    canonicalUrl: page.canonicalUrl === null ? null : cleanText(page.canonicalUrl),
    links: options.collectLinks ? page.links.map(cleanText) : [],
  };
}
