import { normalizeText } from '@protocol/results';
import { describe, expect, it } from 'vitest';
import { findUncleanText } from './clean-text';
import type { JobRow } from './db';
import { extractHtml } from './extract/extract-page';
import { textSha256 } from './extract/text-hash';
import type { PageFetch } from './fetcher/fetch-page';
import { scrapeJob } from './scrape-job';

const job: JobRow = {
  id: 'a1',
  jobId: 'j1',
  url: 'https://news.example/story',
  state: 'fetching',
  keepRawHtml: false,
  collectLinks: true,
  maxBytes: 100_000,
  timeoutMs: 10_000,
  leasedAt: 0,
  leaseExpiresAt: 1,
};
const now = Date.parse('2025-06-01T12:00:00Z');

function page(body: string, contentType: string): PageFetch {
  const bytes = new TextEncoder().encode(body);
  return {
    ok: true,
    body: {
      finalUrl: 'https://news.example/story?x=1',
      httpStatus: 200,
      contentType,
      mediaType: contentType.split(';')[0] ?? '',
      bytes,
    },
    bytesFetched: bytes.byteLength,
  };
}

const deps = (
  fetched: PageFetch,
  extract = async (input: Parameters<typeof extractHtml>[0]) => extractHtml(input),
) => ({
  fetchPage: async () => fetched,
  extract,
  now: () => now,
});

const html = `<html lang="de"><head><title> Eine  Geschichte </title><link rel="canonical" href="/story"></head>
<body><article><p>Erster Absatz mit genug Worten.</p><p>Zweiter Absatz.</p></article><a href="/other">o</a></body></html>`;

describe('scrapeJob', () => {
  it('turns a fetched HTML page into a result whose hash is of the text it carries', async () => {
    const { result, log } = await scrapeJob(job, deps(page(html, 'text/html; charset=utf-8')));
    expect(result).toMatchObject({
      assignmentId: 'a1',
      jobId: 'j1',
      url: job.url,
      fetchedAt: '2025-06-01T12:00:00.000Z',
      outcome: 'fetched',
      finalUrl: 'https://news.example/story?x=1',
      httpStatus: 200,
      contentType: 'text/html; charset=utf-8',
      title: 'Eine Geschichte',
      lang: 'de',
      canonicalUrl: 'https://news.example/story',
      links: ['https://news.example/other'],
    });
    if (result.outcome !== 'fetched') throw new Error('expected a page');
    expect(normalizeText(result.text)).toBe('Erster Absatz mit genug Worten. Zweiter Absatz.');
    expect(result.textSha256).toBe(await textSha256(result.text));
    expect(result).not.toHaveProperty('html');
    expect(log).toEqual({
      kind: 'page',
      at: now,
      url: job.url,
      status: 200,
      bytes: result.bytesFetched,
      outcome: 'ok',
      reason: null,
      assignmentId: 'a1',
      rejection: null,
    });
  });

  it('keeps the raw HTML only when the lease asks for it, and links only when asked', async () => {
    const { result } = await scrapeJob(
      { ...job, keepRawHtml: true, collectLinks: false },
      deps(page(html, 'text/html')),
    );
    expect(result).toMatchObject({ html, links: [] });
  });

  it('takes a plain text page as its own text', async () => {
    const { result } = await scrapeJob(job, deps(page('Just\n  text.', 'text/plain')));
    expect(result).toMatchObject({ outcome: 'fetched', title: '', text: 'Just\n  text.', lang: null, links: [] });
  });

  it('fails an extraction error as extraction_failed, counting the bytes fetched', async () => {
    const { result, log } = await scrapeJob(
      job,
      deps(page(html, 'text/html'), async () => {
        throw new Error('the offscreen document did not answer');
      }),
    );
    expect(result).toMatchObject({
      outcome: 'failed',
      error: 'extraction_failed',
      detail: 'the offscreen document did not answer',
      bytesFetched: new TextEncoder().encode(html).byteLength,
    });
    expect(log).toMatchObject({
      outcome: 'discarded',
      reason: 'extraction_failed: the offscreen document did not answer',
    });
  });

  it('passes a fetch failure on with its code, status and Retry-After', async () => {
    const failed: PageFetch = {
      ok: false,
      failure: { code: 'http_error', detail: 'The site answered HTTP 503.', httpStatus: 503, retryAfterSeconds: 30 },
      bytesFetched: 0,
    };
    const { result, log } = await scrapeJob(job, deps(failed));
    expect(result).toEqual({
      assignmentId: 'a1',
      jobId: 'j1',
      url: job.url,
      fetchedAt: '2025-06-01T12:00:00.000Z',
      bytesFetched: 0,
      outcome: 'failed',
      error: 'http_error',
      detail: 'The site answered HTTP 503.',
      httpStatus: 503,
      retryAfterSeconds: 30,
    });
    expect(log).toMatchObject({ outcome: 'error', status: 503 });
  });

  it('logs refusals as blocked and discarded bodies as discarded', async () => {
    const fail = (code: 'redirect_blocked' | 'private_ip'): PageFetch => ({
      ok: false,
      failure: { code, detail: 'no', httpStatus: null, retryAfterSeconds: null },
      bytesFetched: 10,
    });
    expect((await scrapeJob(job, deps(fail('redirect_blocked')))).log.outcome).toBe('blocked');
    expect((await scrapeJob(job, deps(fail('private_ip')))).log).toMatchObject({ outcome: 'discarded', bytes: 10 });
  });

  it('cuts an over-long text to the format’s limit, well formed, and hashes what it keeps', async () => {
    const long = `${'a'.repeat(4_999_999)}😀tail`;
    const { result } = await scrapeJob(job, deps(page(long, 'text/plain')));
    if (result.outcome !== 'fetched') throw new Error('expected a page');
    expect(result.text).toHaveLength(5_000_000);
    expect(result.text.isWellFormed()).toBe(true);
    expect(result.textSha256).toBe(await textSha256(result.text));
  });

  it('drops NUL characters and mends lone surrogates of a plain text page before hashing it', async () => {
    const body = 'Column\u0000one\tColumn\u0000two\n\u0000end';
    const { result } = await scrapeJob(job, deps(page(body, 'text/plain; charset=utf-8')));
    if (result.outcome !== 'fetched') throw new Error('expected a page');
    expect(result.text).toBe('Columnone\tColumntwo\nend');
    expect(findUncleanText(result)).toBeNull();
    expect(result.textSha256).toBe(await textSha256(result.text));
    expect(result.textSha256).toBe(await sha256Hex(normalizeText(result.text)));
  });

  it('cleans every string of an extracted page: title, text, lang, links, canonical URL and kept HTML', async () => {
    const dirty = (text: string) => `${text}\u0000\uD800`;
    const { result } = await scrapeJob(
      { ...job, keepRawHtml: true },
      deps(page(`<html><body><p>x\u0000y</p></body></html>`, 'text/html'), async () => ({
        title: dirty('Title'),
        text: dirty('Body text \uDC00 here'),
        lang: dirty('en'),
        canonicalUrl: dirty('https://news.example/story'),
        links: [dirty('https://news.example/a')],
      })),
    );
    if (result.outcome !== 'fetched') throw new Error('expected a page');
    expect(findUncleanText(result)).toBeNull();
    expect(result).toMatchObject({
      title: 'Title\uFFFD',
      text: 'Body text \uFFFD here\uFFFD',
      lang: 'en\uFFFD',
      canonicalUrl: 'https://news.example/story\uFFFD',
      links: ['https://news.example/a\uFFFD'],
      html: '<html><body><p>xy</p></body></html>',
    });
    expect(result.textSha256).toBe(await sha256Hex(normalizeText(result.text)));
  });

  it('fails a plain text page of nothing but NUL characters as empty', async () => {
    const { result } = await scrapeJob(job, deps(page('\u0000\u0000', 'text/plain')));
    expect(result).toMatchObject({ outcome: 'failed', error: 'extraction_failed' });
  });
});

/** SHA-256 as the server computes it, written out here rather than borrowed from the code under test. */
async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
}
