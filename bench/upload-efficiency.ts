import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { type FetchedPage, fetchedPageSchema, normalizeText } from '../protocol/results';
import { signRequest } from '../protocol/signing';
import { article, htmlPage } from './synthetic-site';

const pageCount = 50;

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/**
 * A deliberately simple extractor (lib/ has no extractor yet): the first <article>, else <main>, else
 * <body>; drops script, style, noscript, svg and template; block tags become line breaks; other tags go.
 */
function extractText(html: string): string {
  const region =
    /<article\b[^>]*>([\s\S]*?)<\/article>/i.exec(html)?.[1] ??
    /<main\b[^>]*>([\s\S]*?)<\/main>/i.exec(html)?.[1] ??
    /<body\b[^>]*>([\s\S]*?)<\/body>/i.exec(html)?.[1] ??
    html;
  return region
    .replace(/<(script|style|noscript|svg|template)\b[\s\S]*?<\/\1>/gi, '')
    .replace(
      /<\/?(p|h[1-6]|li|ul|ol|div|section|figure|figcaption|blockquote|br|tr|table|header|footer)\b[^>]*>/gi,
      '\n',
    )
    .replace(/<[^>]+>/g, '')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
      if (name[0] === '#') {
        const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
        return String.fromCodePoint(code);
      }
      return entities[name.toLowerCase()] ?? whole;
    })
    .split('\n')
    .map((line) => line.replace(/[ \t\r\f\v]+/g, ' ').trim())
    .filter(Boolean)
    .join('\n\n');
}

/** Same-origin links of the page, absolute and without duplicates (what a link-following campaign uploads). */
function sameOriginLinks(html: string, pageUrl: string): string[] {
  const origin = new URL(pageUrl).origin;
  const links = new Set<string>();
  for (const match of html.matchAll(/<a\b[^>]*\bhref="([^"]+)"/gi)) {
    const url = new URL((match[1] as string).replace(/&amp;/g, '&'), pageUrl);
    url.hash = '';
    if (url.origin === origin && url.href !== pageUrl) links.add(url.href);
  }
  return [...links];
}

const gzipBytesPerPage = (pages: FetchedPage[], batch: number) => {
  let total = 0;
  for (let start = 0; start < pages.length; start += batch) {
    total += gzipSync(JSON.stringify({ batchId: randomUUID(), results: pages.slice(start, start + batch) })).length;
  }
  return total / pages.length;
};

/**
 * What a page costs to upload: gzip-compressed signed-batch bodies per page, against the raw HTML the
 * device fetched (the anchor), for pages fetched from a generated local test site.
 */
export async function benchUploadEfficiency(): Promise<string> {
  const articles = Array.from({ length: pageCount }, (_, i) => article(i));
  let origin = '';
  const site = createServer((request, response) => {
    const index = Number(/^\/articles\/(\d+)$/.exec(request.url ?? '')?.[1] ?? Number.NaN);
    const content = articles[index];
    if (!content) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(htmlPage(origin, index, pageCount, content));
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;

  const textOnly: FetchedPage[] = [];
  const withLinks: FetchedPage[] = [];
  const withHtml: FetchedPage[] = [];
  let htmlBytes = 0;
  let htmlGzipBytes = 0;
  let textBytes = 0;
  try {
    for (let index = 0; index < pageCount; index += 1) {
      const url = `${origin}/articles/${index}`;
      const response = await fetch(url);
      const bytes = Buffer.from(await response.arrayBuffer());
      const html = bytes.toString('utf8');
      const text = extractText(html);
      // The simple extractor must recover every paragraph of the article, or the comparison means nothing.
      const normalized = normalizeText(text);
      for (const paragraph of (articles[index] as (typeof articles)[number]).sections.flatMap((s) => s.paragraphs)) {
        if (!normalized.includes(normalizeText(paragraph))) throw new Error(`extraction lost text of ${url}`);
      }
      const page: FetchedPage = {
        outcome: 'fetched',
        assignmentId: String(100_000 + index),
        jobId: String(200_000 + index),
        url,
        finalUrl: url,
        fetchedAt: new Date().toISOString(),
        bytesFetched: bytes.length,
        httpStatus: response.status,
        contentType: response.headers.get('content-type') ?? '',
        title: /<title>([^<]*)<\/title>/i.exec(html)?.[1] ?? '',
        text,
        lang: 'en',
        canonicalUrl: /<link rel="canonical" href="([^"]+)"/i.exec(html)?.[1] ?? null,
        links: [],
        textSha256: createHash('sha256').update(normalized, 'utf8').digest('hex'),
      };
      fetchedPageSchema.parse(page);
      textOnly.push(page);
      withLinks.push({ ...page, links: sameOriginLinks(html, url) });
      withHtml.push({ ...page, html });
      htmlBytes += bytes.length;
      htmlGzipBytes += gzipSync(bytes).length;
      textBytes += Buffer.byteLength(text);
    }
  } finally {
    await new Promise((resolve) => site.close(resolve));
  }

  const signed = await signRequest(privateKeyToAccount(generatePrivateKey()), {
    method: 'POST',
    path: '/v1/results',
    body: new Uint8Array(),
  });
  const headerBytes = Object.entries(signed).reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0);

  const rawPerPage = htmlBytes / pageCount;
  const row = (label: string, perPage: number) =>
    `  ${label.padEnd(52)} ${(perPage / 1024).toFixed(2).padStart(6)} KB  ${(perPage / rawPerPage).toFixed(3)}  (${(rawPerPage / perPage).toFixed(1)}x smaller)`;
  const linkCount = withLinks.reduce((sum, page) => sum + page.links.length, 0) / pageCount;
  return [
    `upload efficiency (${pageCount} generated news pages fetched from a local test site; gzip at zlib's default level 6)`,
    '  text extracted by a simple tag stripper in bench/ (article, else main, else body): lib/ has no extractor yet',
    `  ${''.padEnd(52)} per page   / raw HTML`,
    `  ${'raw HTML as fetched (anchor)'.padEnd(52)} ${(rawPerPage / 1024).toFixed(2).padStart(6)} KB  1.000`,
    row('HTML gzip-compressed page by page', htmlGzipBytes / pageCount),
    row('extracted text, UTF-8, uncompressed', textBytes / pageCount),
    row('upload: text, gzip batch of 50 pages', gzipBytesPerPage(textOnly, 50)),
    row('upload: text, gzip batch of 10 pages', gzipBytesPerPage(textOnly, 10)),
    row('upload: text, one page per gzip batch', gzipBytesPerPage(textOnly, 1)),
    row(`upload: text + ${linkCount.toFixed(0)} same-site links, batch of 50`, gzipBytesPerPage(withLinks, 50)),
    row('upload: text + raw HTML (keepRawHtml), batch of 50', gzipBytesPerPage(withHtml, 50)),
    `  not counted above: ${headerBytes} bytes of signature headers per request (per batch, not per page)`,
  ].join('\n');
}
