// @vitest-environment node
// biome-ignore lint/style/noRestrictedImports: this test runs in Node and serves real HTTP to the fetcher.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalHttpServer, startLocalHttpServer } from '../testing/local-http-server';
import { ruleActionFor } from '../testing/network-rules-matcher';
import { createTestNetwork } from '../testing/test-network';
import { fetchImage, imageDataUrl, maxImageBytes, sniffImageType } from './fetch-image';
import { createNetworkMonitor } from './network-monitor';
import { buildNetworkRules } from './network-rules';

const extensionOrigin = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);
const svg =
  '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><image href="http://192.168.1.1/"/></svg>';

function route(request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', 'http://local');
  switch (url.pathname) {
    case '/cat.png':
      response.writeHead(200, { 'content-type': 'image/png' });
      response.end(png);
      return;
    case '/cat.svg':
      response.writeHead(200, { 'content-type': 'image/svg+xml' });
      response.end(svg);
      return;
    case '/svg-as-png':
      response.writeHead(200, { 'content-type': 'image/png' });
      response.end(svg);
      return;
    case '/page':
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<p>not an image</p>');
      return;
    case '/huge.png':
      response.writeHead(200, { 'content-type': 'image/png' });
      response.write(png);
      for (let i = 0; i < 6; i += 1) response.write(Buffer.alloc(1024 * 1024));
      response.end();
      return;
    case '/go':
      response.writeHead(302, { location: url.searchParams.get('to') ?? '/cat.png' });
      response.end();
      return;
    default:
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('missing');
  }
}

let site: LocalHttpServer;

beforeAll(async () => {
  site = await startLocalHttpServer(route);
});

afterAll(async () => {
  await site.close();
});

function setup() {
  const rules = buildNetworkRules({
    extensionId: 'abcdefghijklmnopabcdefghijklmnop',
    allowedTestOrigins: [],
    serverUrl: 'https://gleaner.example.org',
  });
  const network = createTestNetwork({
    upstream: site.origin,
    addresses: { 'images.example': '93.184.216.34', 'rebind.example': '192.168.1.1' },
    extensionOrigin,
    isBlocked: (url) => ruleActionFor(rules, url) === 'block',
  });
  const policy = { allowedTestOrigins: [] };
  const monitor = createNetworkMonitor(network.events, { extensionOrigin, policy });
  const fetch = (url: string) => fetchImage(url, { fetch: network.fetch, monitor, policy, now: () => Date.now() });
  return { network, fetch };
}

describe('fetchImage', () => {
  it('fetches a PNG with a credential-less GET that asks for images only, and gives it as a data: URL', async () => {
    const { network, fetch } = setup();
    const image = await fetch('https://images.example/cat.png');
    expect(image).toMatchObject({ ok: true, mediaType: 'image/png', httpStatus: 200 });
    if (!image.ok) throw new Error('expected an image');
    expect(imageDataUrl(image.mediaType, image.bytes)).toBe(`data:image/png;base64,${png.toString('base64')}`);
    expect(network.inits[0]).toMatchObject({ method: 'GET', credentials: 'omit', cache: 'no-store' });
    expect(network.inits[0]?.headers).toEqual({
      accept: 'image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9',
      'accept-language': 'en;q=1.0, *;q=0.5',
    });
  });

  it('never requests a private, loopback or metadata address the buyer names', async () => {
    const { network, fetch } = setup();
    for (const url of [
      'http://192.168.1.1/cgi-bin/reboot',
      'http://169.254.169.254/latest/meta-data/',
      'http://localhost:9222/json',
      'http://127.0.0.1/cat.png',
      'http://router.lan/cat.png',
    ]) {
      expect(await fetch(url)).toMatchObject({ ok: false, failure: { code: 'url_blocked' }, bytesFetched: 0 });
    }
    expect(network.sent).toEqual([]);
  });

  it('blocks a redirect to a private address, and discards an image served from one', async () => {
    const { fetch } = setup();
    const redirected = await fetch(`https://images.example/go?to=${encodeURIComponent('http://10.0.0.1/x.png')}`);
    expect(redirected).toMatchObject({ ok: false, failure: { code: 'redirect_blocked' } });
    expect(await fetch('https://rebind.example/cat.png')).toMatchObject({
      ok: false,
      failure: { code: 'private_ip' },
    });
  });

  it('refuses SVG unread, and anything that is not an image', async () => {
    const { fetch } = setup();
    const vector = await fetch('https://images.example/cat.svg');
    expect(vector).toMatchObject({ ok: false, failure: { code: 'content_type' }, bytesFetched: 0 });
    if (vector.ok) throw new Error('expected a refusal');
    expect(vector.failure.detail).toMatch(/SVG images are not shown/);
    expect(await fetch('https://images.example/page')).toMatchObject({ ok: false, failure: { code: 'content_type' } });
    expect(await fetch('https://images.example/missing.png')).toMatchObject({
      ok: false,
      failure: { code: 'http_error', httpStatus: 404 },
    });
  });

  it('refuses a file whose bytes are not the image its content type claims', async () => {
    const image = await setup().fetch('https://images.example/svg-as-png');
    expect(image).toMatchObject({ ok: false, failure: { code: 'content_type' } });
    if (image.ok) throw new Error('expected a refusal');
    expect(image.failure.detail).toBe('The file sent as image/png is not a PNG, JPEG, GIF, WebP or AVIF image.');
  });

  it(`stops reading at ${maxImageBytes} bytes`, async () => {
    const image = await setup().fetch('https://images.example/huge.png');
    expect(image).toMatchObject({ ok: false, failure: { code: 'too_large' } });
  });
});

describe('sniffImageType', () => {
  const bytes = (...parts: Array<string | number[]>) =>
    new Uint8Array(parts.flatMap((part) => (typeof part === 'string' ? [...Buffer.from(part, 'latin1')] : part)));

  it('recognises PNG, JPEG, GIF, WebP and AVIF by their signatures, and nothing else', () => {
    expect(sniffImageType(new Uint8Array(png))).toBe('image/png');
    expect(sniffImageType(bytes([0xff, 0xd8, 0xff, 0xe0]))).toBe('image/jpeg');
    expect(sniffImageType(bytes('GIF89a'))).toBe('image/gif');
    expect(sniffImageType(bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 '))).toBe('image/webp');
    expect(sniffImageType(bytes([0, 0, 0, 28], 'ftypavif', [0, 0, 0, 0], 'avifmif1miaf'))).toBe('image/avif');
    expect(sniffImageType(bytes([0, 0, 0, 24], 'ftypmif1', [0, 0, 0, 0], 'mif1avif'))).toBe('image/avif');
    expect(sniffImageType(bytes([0, 0, 0, 24], 'ftypheic', [0, 0, 0, 0], 'mif1heic'))).toBeNull();
    expect(sniffImageType(bytes('<svg xmlns="http://www.w3.org/2000/svg">'))).toBeNull();
    expect(sniffImageType(new Uint8Array())).toBeNull();
  });
});
