import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extractBody } from '@protocol/extract/extract-body';
import { fixturePages } from '@protocol/extract/fixture-pages';
import { textSha256 } from '@protocol/extract/text-hash';
import { normalizeText } from '@protocol/results';
import { Window } from 'happy-dom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeExtractionPool, createExtractionPool, type ExtractionPool } from './extraction-pool';
import { fetchPageOnServer, type ServerPageFetch } from './server-fetch';

/** What the extension's tests parse with: happy-dom's DOMParser, standing for the browser's. */
const browserLike = new Window();
const browserParser = new browserLike.DOMParser();
const parseLikeTheExtension = (html: string) => browserParser.parseFromString(html, 'text/html') as unknown as Document;

const maxBytes = 200_000;
const big = Buffer.alloc(maxBytes + 1, 'a');
/** 100 KB that keep Readability busy for seconds (~10 s on a loaded 2-core machine). */
const nestedDeep = `<!doctype html><body>${'<div>'.repeat(20_000)}deep text`;
let server: Server;
let origin: string;
const received: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    received.push(request.headers);
    const path = request.url ?? '/';
    const page = fixturePages.find((fixture) => fixture.path === path);
    if (page) {
      response.writeHead(200, { 'content-type': page.contentType });
      response.end(page.body);
      return;
    }
    const routes: Record<string, () => void> = {
      '/moved': () => response.writeHead(301, { location: '/docs/v2/install#top' }).end(),
      '/report.pdf': () =>
        response
          .writeHead(200, { 'content-type': 'application/pdf' })
          .end(Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n')),
      '/download': () => response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(big),
      '/untyped': () => response.writeHead(200).end('<p>no content type</p>'),
      '/missing': () => response.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>'),
      '/busy': () => response.writeHead(503, { 'retry-after': '120' }).end(),
      '/to-router': () => response.writeHead(302, { location: 'http://192.168.1.1/admin' }).end(),
      '/to-intranet': () => response.writeHead(302, { location: 'http://intranet.example/' }).end(),
      '/huge': () => response.writeHead(200, { 'content-type': 'text/html' }).end(big),
      '/blank': () => response.writeHead(200, { 'content-type': 'text/html' }).end('<html><body> <script>x()</script>'),
      '/compressed': () =>
        response.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' }).end('\x1f\x8b'),
      '/nested': () => response.writeHead(200, { 'content-type': 'text/html' }).end(nestedDeep),
      '/slow': () => setTimeout(() => response.writeHead(200, { 'content-type': 'text/plain' }).end('late'), 2_000),
    };
    const route = routes[path];
    if (route) route();
    else response.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await closeExtractionPool();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await browserLike.happyDOM.close();
});

const fetchOnServer = (
  path: string,
  options: Partial<Pick<Parameters<typeof fetchPageOnServer>[1], 'timeoutMs' | 'lookup' | 'extraction'>> = {},
) =>
  fetchPageOnServer(`${origin}${path}`, {
    maxBytes,
    timeoutMs: options.timeoutMs ?? 5_000,
    allowedTestOrigins: [origin],
    lookup: options.lookup,
    extraction: options.extraction,
  });

function expectPage(result: ServerPageFetch): Extract<ServerPageFetch, { ok: true }> {
  if (!result.ok) throw new Error(`expected a page, got ${result.code}: ${result.detail}`);
  return result;
}

function expectFailure(result: ServerPageFetch, code: string): Extract<ServerPageFetch, { ok: false }> {
  if (result.ok) throw new Error(`expected ${code}, got a page from ${result.finalUrl}`);
  expect(result.code, result.detail).toBe(code);
  return result;
}

describe('fetchPageOnServer', () => {
  it.each(fixturePages)('reads the $name exactly as the extension does', async (fixture) => {
    const page = expectPage(await fetchOnServer(fixture.path));
    const extension = extractBody(
      { bytes: fixture.body, contentType: fixture.contentType, finalUrl: `${origin}${fixture.path}` },
      { parseHtml: parseLikeTheExtension, collectLinks: false },
    );
    expect({ title: page.title, text: page.text, lang: page.lang, canonicalUrl: page.canonicalUrl }).toEqual({
      title: extension.title,
      text: extension.text,
      lang: extension.lang,
      canonicalUrl: extension.canonicalUrl,
    });
    expect(page.textSha256).toBe(await textSha256(extension.text));
    // The hash is the server's usual one: SHA-256 of the normalized text as UTF-8.
    expect(page.textSha256).toBe(createHash('sha256').update(normalizeText(page.text), 'utf8').digest('hex'));
    for (const phrase of fixture.mustInclude) expect(normalizeText(page.text)).toContain(normalizeText(phrase));
    for (const phrase of fixture.mustExclude) expect(page.text).not.toContain(phrase);
    expect(page).toMatchObject({
      finalUrl: `${origin}${fixture.path}`,
      httpStatus: 200,
      contentType: fixture.contentType,
    });
  });

  it('decodes a windows-1252 page declared only by <meta>, curly quotes and euro sign included', async () => {
    const page = expectPage(await fetchOnServer('/recettes/creme-brulee.html'));
    expect(page.title).toBe('Café notes – Crème brûlée à la façon de Zoë');
    expect(normalizeText(page.text)).toContain('Environ 4,50 € pour six ramequins — un prix « raisonnable ».');
    expect(page.text).toContain('“Smart quotes”, ‘single ones’');
  });

  it('asks as the extension asks: GET with its Accept and Accept-Language, and names itself', async () => {
    received.length = 0;
    expectPage(await fetchOnServer('/files/README.txt'));
    expect(received[0]).toMatchObject({
      accept: 'text/html,text/plain;q=0.9',
      'accept-language': 'en;q=1.0, *;q=0.5',
      'accept-encoding': 'identity',
      'user-agent': expect.stringMatching(/^GleanerBot\//),
    });
    expect(received[0]).not.toHaveProperty('cookie');
  });

  it('follows a redirect and reads the page against where it ended', async () => {
    const page = expectPage(await fetchOnServer('/moved'));
    expect(page.finalUrl).toBe(`${origin}/docs/v2/install`);
    expect(page.canonicalUrl).toBe(`${origin}/docs/v2/install`);
  });

  it('keeps only HTML and plain text: a PDF, a download and a page without a content type are refused', async () => {
    expect(expectFailure(await fetchOnServer('/report.pdf'), 'content_type').detail).toBe(
      'application/pdf is not a web page or plain text.',
    );
    expectFailure(await fetchOnServer('/download'), 'too_large');
    expect(expectFailure(await fetchOnServer('/untyped'), 'content_type').detail).toBe(
      'A missing content type is not a web page or plain text.',
    );
  });

  it('fails an answer that is not 2xx with its status', async () => {
    expect(expectFailure(await fetchOnServer('/missing'), 'http_error')).toMatchObject({
      httpStatus: 404,
      detail: 'The site answered HTTP 404.',
    });
    expect(expectFailure(await fetchOnServer('/busy'), 'http_error').httpStatus).toBe(503);
  });

  it('never follows a redirect into a private network, by address or by name', async () => {
    expect(expectFailure(await fetchOnServer('/to-router'), 'redirect_blocked').detail).toContain('192.168.1.1');
    const lookup = async () => [{ address: '192.168.7.20', family: 4 as const }];
    const byName = expectFailure(await fetchOnServer('/to-intranet', { lookup }), 'private_ip');
    expect(byName.detail).toContain('intranet.example resolves to 192.168.7.20');
  });

  it('refuses a URL the rules forbid before sending anything', async () => {
    const result = await fetchPageOnServer('http://127.0.0.1:9/', {
      maxBytes,
      timeoutMs: 1_000,
      allowedTestOrigins: [],
    });
    expectFailure(result, 'url_blocked');
  });

  it('refuses a page over the byte cap, one with no readable text, a compressed body and a slow site', async () => {
    expectFailure(await fetchOnServer('/huge'), 'too_large');
    expect(expectFailure(await fetchOnServer('/blank'), 'extraction_failed').detail).toBe(
      'The page has no readable text.',
    );
    expectFailure(await fetchOnServer('/compressed'), 'network_error');
    expectFailure(await fetchOnServer('/slow', { timeoutMs: 300 }), 'timeout');
  });
});

describe('fetchPageOnServer on a hostile page', () => {
  let extraction: ExtractionPool;
  beforeAll(() => {
    extraction = createExtractionPool({ size: 1, deadlineMs: 2_000, maxHeapMb: 256 });
  });
  afterAll(() => extraction.close());

  /** The longest a 10 ms timer fired late while `work` ran: how long this thread could not answer anyone. */
  async function maxLateness<T>(work: () => Promise<T>): Promise<{ result: T; lateMs: number; tookMs: number }> {
    let lateMs = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      lateMs = Math.max(lateMs, now - last - 10);
      last = now;
    }, 10);
    const started = performance.now();
    try {
      const result = await work();
      return { result, lateMs, tookMs: performance.now() - started };
    } finally {
      clearInterval(timer);
    }
  }

  it('reads a page nested 20,000 deep in a thread, so this thread keeps answering, and gives up at the deadline', async () => {
    const { result, lateMs, tookMs } = await maxLateness(() => fetchOnServer('/nested', { extraction }));
    // Either outcome is right (a fast machine may finish in time); what matters is that nothing waited on it.
    if (!result.ok)
      expect(result).toMatchObject({ code: 'extraction_failed', detail: 'Extraction took longer than 2 s.' });
    expect(lateMs).toBeLessThan(200);
    // The deadline, plus starting the thread (tsx compiles it) and the fetch.
    expect(tookMs).toBeLessThan(15_000);
  });

  it('reads the next page in a new thread after one was ended at its deadline', async () => {
    expectFailure(await fetchOnServer('/nested', { extraction }), 'extraction_failed');
    const [fixture] = fixturePages;
    if (!fixture) throw new Error('no fixture pages');
    const again = expectPage(await fetchOnServer(fixture.path, { extraction }));
    expect(again).toEqual(expectPage(await fetchOnServer(fixture.path)));
  });
});
