import { extractBody } from '@protocol/extract/extract-body';
import { extractPage } from '@protocol/extract/extract-page';
import { fixturePages } from '@protocol/extract/fixture-pages';
import { mediaTypeOf } from '@protocol/extract/page-rules';
import { textSha256 } from '@protocol/extract/text-hash';
import { describe, expect, it } from 'vitest';
import type { JobRow } from '../db';
import { scrapeJob } from '../scrape-job';
import { extractHtml } from './extract-page';

const origin = 'https://site.example';
const dom = { parseHtml: (html: string) => new DOMParser().parseFromString(html, 'text/html') };

function jobFor(path: string): JobRow {
  return {
    id: 'a1',
    jobId: 'j1',
    url: `${origin}${path}`,
    state: 'fetching',
    keepRawHtml: false,
    collectLinks: true,
    maxBytes: 1_000_000,
    timeoutMs: 10_000,
    leasedAt: 0,
    leaseExpiresAt: 1,
  };
}

describe('extractHtml', () => {
  it('is the shared extractor over the browser’s DOMParser', () => {
    const page = fixturePages[0];
    if (!page) throw new Error('no fixture');
    const input = { html: new TextDecoder().decode(page.body), url: `${origin}${page.path}`, collectLinks: true };
    expect(extractHtml(input)).toEqual(extractPage(input, dom));
  });
});

// The server audits a page with `extractBody` (protocol/extract/extract-body.ts); the extension runs the
// same steps spread over the service worker and the offscreen document (scrape-job.ts). Both must
// give the same page from the same bytes, or an honest copy would fail its audit.
async function scrapeAndExtract(page: { path: string; contentType: string; body: Uint8Array }) {
  const job = { ...jobFor(page.path), maxBytes: 20_000_000 };
  const { result } = await scrapeJob(job, {
    fetchPage: async () => ({
      ok: true,
      body: {
        finalUrl: job.url,
        httpStatus: 200,
        contentType: page.contentType,
        mediaType: mediaTypeOf(page.contentType) ?? '',
        bytes: page.body,
      },
      bytesFetched: page.body.byteLength,
    }),
    extract: async (input) => extractHtml(input),
    now: () => 0,
  });
  if (result.outcome !== 'fetched') throw new Error(`expected a page, got ${result.error}: ${result.detail}`);
  const shared = extractBody(
    { bytes: page.body, contentType: page.contentType, finalUrl: job.url },
    { ...dom, collectLinks: true },
  );
  return { result, shared };
}

// The server audits a page with `extractBody` (protocol/extract/extract-body.ts); the extension runs the
// same steps spread over the service worker and the offscreen document (scrape-job.ts). Both must
// give the same page from the same bytes, or an honest copy would fail its audit.
describe('the extension’s scrape and the server’s extractBody', () => {
  it.each(fixturePages)('give the same page and hash for the $name', async (page) => {
    const { result, shared } = await scrapeAndExtract(page);
    const { title, text, lang, canonicalUrl, links, textSha256: hash } = result;
    expect({ title, text, lang, canonicalUrl, links }).toEqual(shared);
    expect(hash).toBe(await textSha256(shared.text));
  });

  it('clean the same way: NULs dropped, a surrogate pair split by the length cut mended', async () => {
    const body = new TextEncoder().encode(`a\u0000b${'x'.repeat(4_999_997)}😀 tail`);
    const { result, shared } = await scrapeAndExtract({ path: '/big.txt', contentType: 'text/plain', body });
    if (result.outcome !== 'fetched') throw new Error('expected a page');
    expect(shared.text).toHaveLength(5_000_000);
    expect(shared.text.slice(0, 2)).toBe('ab');
    expect(shared.text.at(-1)).toBe('\ufffd');
    expect(result.text).toBe(shared.text);
  });
});
