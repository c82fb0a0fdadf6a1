import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { Window } from 'happy-dom';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { extractHtml } from '../lib/extract/extract-page';
import { type FetchedPage, fetchedPageSchema, normalizeText } from '../protocol/results';
import { signRequest } from '../protocol/signing';
import { benchSigningServer } from './stats';
import { article, htmlPage } from './synthetic-site';

const pageCount = 50;

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
  const parser = new new Window().DOMParser() as unknown as DOMParser;
  try {
    for (let index = 0; index < pageCount; index += 1) {
      const url = `${origin}/articles/${index}`;
      const response = await fetch(url);
      const bytes = Buffer.from(await response.arrayBuffer());
      const html = bytes.toString('utf8');
      // The extension's own extractor (Readability over a DOM), here over happy-dom's parser.
      const extracted = extractHtml({ html, url, collectLinks: true }, parser);
      const text = extracted.text;
      // The extractor must recover every paragraph of the article, or the comparison means nothing.
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
        title: extracted.title,
        text,
        lang: extracted.lang,
        canonicalUrl: extracted.canonicalUrl,
        links: [],
        textSha256: createHash('sha256').update(normalized, 'utf8').digest('hex'),
      };
      fetchedPageSchema.parse(page);
      textOnly.push(page);
      withLinks.push({ ...page, links: extracted.links });
      withHtml.push({ ...page, html });
      htmlBytes += bytes.length;
      htmlGzipBytes += gzipSync(bytes).length;
      textBytes += Buffer.byteLength(text);
    }
  } finally {
    await new Promise((resolve) => site.close(resolve));
  }

  const signed = await signRequest(
    privateKeyToAccount(generatePrivateKey()),
    {
      method: 'POST',
      path: '/v1/results',
      body: new Uint8Array(),
    },
    benchSigningServer,
  );
  const headerBytes = Object.entries(signed).reduce((sum, [name, value]) => sum + name.length + value.length + 4, 0);

  const rawPerPage = htmlBytes / pageCount;
  const row = (label: string, perPage: number) =>
    `  ${label.padEnd(52)} ${(perPage / 1024).toFixed(2).padStart(6)} KB  ${(perPage / rawPerPage).toFixed(3)}  (${(rawPerPage / perPage).toFixed(1)}x smaller)`;
  const linkCount = withLinks.reduce((sum, page) => sum + page.links.length, 0) / pageCount;
  return [
    `upload efficiency (${pageCount} generated news pages fetched from a local test site; gzip at zlib's default level 6)`,
    "  text extracted by the extension's own extractor (lib/extract: Readability), on happy-dom's DOMParser",
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
