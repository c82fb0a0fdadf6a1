// @vitest-environment node
// biome-ignore lint/style/noRestrictedImports: this test runs in Node and serves real HTTP to the fetcher.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalHttpServer, startLocalHttpServer } from '../testing/local-http-server';
import { ruleActionFor } from '../testing/network-rules-matcher';
import { createTestNetwork, type TestNetworkOptions } from '../testing/test-network';
import { fetchPage, type PageRequest } from './fetch-page';
import { createNetworkMonitor } from './network-monitor';
import { buildNetworkRules } from './network-rules';

const extensionOrigin = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';
const publicIp = '93.184.216.34';

function route(request: IncomingMessage, response: ServerResponse): void {
  const url = new URL(request.url ?? '/', 'http://local');
  const html = (body: string) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(`<!doctype html><html lang="en"><title>Page</title><body>${body}</body></html>`);
  };
  const redirect = /^\/hops\/(\d+)$/.exec(url.pathname);
  if (redirect) {
    const left = Number(redirect[1]);
    response.writeHead(302, { location: left === 0 ? '/page' : `/hops/${left - 1}` });
    response.end();
    return;
  }
  switch (url.pathname) {
    case '/page':
      html('<p>Hello</p>');
      return;
    case '/plain':
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('Just text.');
      return;
    case '/go':
      response.writeHead(302, { location: url.searchParams.get('to') ?? '/page' });
      response.end();
      return;
    case '/stream': {
      // No Content-Length: the size only shows while reading.
      const chunks = Number(url.searchParams.get('chunks') ?? '10');
      response.writeHead(200, { 'content-type': 'text/html' });
      for (let i = 0; i < chunks; i += 1) response.write('x'.repeat(1024));
      response.end();
      return;
    }
    case '/declared-huge':
      response.writeHead(200, { 'content-type': 'text/html', 'content-length': String(50_000_000) });
      response.write('<p>');
      return;
    case '/slow':
      setTimeout(() => html('<p>late</p>'), 2_000);
      return;
    case '/trickle':
      response.writeHead(200, { 'content-type': 'text/html' });
      response.write('<p>');
      setTimeout(() => response.end('done</p>'), 2_000);
      return;
    case '/binary':
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      response.end(Buffer.alloc(64, 7));
      return;
    case '/untyped':
      response.end('<p>no type</p>');
      return;
    case '/busy':
      response.writeHead(429, { 'content-type': 'text/html', 'retry-after': '120' });
      response.end('slow down');
      return;
    case '/down':
      response.writeHead(503, { 'retry-after': new Date(Date.now() + 30_000).toUTCString() });
      response.end();
      return;
    default:
      response.writeHead(404, { 'content-type': 'text/html' });
      response.end('missing');
  }
}

let site: LocalHttpServer;
let trap: LocalHttpServer;

beforeAll(async () => {
  site = await startLocalHttpServer(route);
  trap = await startLocalHttpServer((_request, response) => response.end('trapped'));
});

afterAll(async () => {
  await site.close();
  await trap.close();
});

const addresses: Record<string, string> = {
  'news.example': publicIp,
  'other.example': publicIp,
  'rebind.example': '10.0.0.7',
  'metadata.example': '169.254.169.254',
};

function setup(options: Partial<TestNetworkOptions> & { allowedTestOrigins?: string[]; upstream?: string } = {}) {
  const allowedTestOrigins = options.allowedTestOrigins ?? [];
  const rules = buildNetworkRules({
    extensionId: 'abcdefghijklmnopabcdefghijklmnop',
    allowedTestOrigins,
    serverUrl: 'https://gleaner.example.org',
  });
  const network = createTestNetwork({
    upstream: site.origin,
    addresses: { ...addresses, '127.0.0.1': '127.0.0.1' },
    extensionOrigin,
    isBlocked: (url) => ruleActionFor(rules, url) === 'block',
    ...options,
  });
  const policy = { allowedTestOrigins };
  const monitor = createNetworkMonitor(network.events, { extensionOrigin, policy });
  const fetch = (request: Partial<PageRequest> & { url: string }) =>
    fetchPage(
      { maxBytes: 100_000, timeoutMs: 5_000, ...request },
      { fetch: network.fetch, monitor, policy, now: () => Date.now() },
    );
  return { network, fetch };
}

describe('fetchPage', () => {
  it('fetches an HTML page with a credential-less, uncached GET that sends only Accept and Accept-Language', async () => {
    const { network, fetch } = setup();
    const result = await fetch({ url: 'http://news.example/page' });
    expect(result).toMatchObject({
      ok: true,
      body: { finalUrl: 'http://news.example/page', httpStatus: 200, mediaType: 'text/html' },
    });
    if (!result.ok) throw new Error('expected a page');
    expect(new TextDecoder().decode(result.body.bytes)).toContain('<p>Hello</p>');
    expect(result.bytesFetched).toBe(result.body.bytes.byteLength);
    expect(network.inits[0]).toMatchObject({
      method: 'GET',
      credentials: 'omit',
      cache: 'no-store',
      redirect: 'follow',
    });
    expect(Object.keys(network.inits[0]?.headers ?? {}).sort()).toEqual(['accept', 'accept-language']);
  });

  it('keeps plain text pages', async () => {
    const result = await setup().fetch({ url: 'http://news.example/plain' });
    expect(result).toMatchObject({ ok: true, body: { mediaType: 'text/plain' } });
  });

  it('refuses a URL the guard forbids without sending any request', async () => {
    const { network, fetch } = setup();
    for (const url of ['http://10.0.0.1/', 'http://localhost/', 'https://news.example:8443/', 'ftp://news.example/']) {
      const result = await fetch({ url });
      expect(result).toMatchObject({ ok: false, failure: { code: 'url_blocked' }, bytesFetched: 0 });
    }
    expect(network.sent).toEqual([]);
  });

  it('follows five redirects and stops at the sixth', async () => {
    const { fetch } = setup();
    const five = await fetch({ url: 'http://news.example/hops/4' });
    expect(five).toMatchObject({ ok: true, body: { finalUrl: 'http://news.example/page' } });
    const six = await fetch({ url: 'http://news.example/hops/5' });
    expect(six).toMatchObject({ ok: false, failure: { code: 'too_many_redirects' } });
  });

  it('blocks a redirect to another local origin at the network layer, before it is sent', async () => {
    const { network, fetch } = setup({ allowedTestOrigins: [site.origin] });
    const result = await fetch({ url: `${site.origin}/go?to=${encodeURIComponent(`${trap.origin}/stolen`)}` });
    expect(result).toMatchObject({ ok: false, failure: { code: 'redirect_blocked' }, bytesFetched: 0 });
    expect(network.sent).toEqual([`${site.origin}/go?to=${encodeURIComponent(`${trap.origin}/stolen`)}`]);
    expect(trap.hits).toEqual([]);
  });

  it('aborts a redirect to a forbidden address that the network rules let through', async () => {
    const { fetch } = setup({ isBlocked: () => false });
    const result = await fetch({ url: `http://news.example/go?to=${encodeURIComponent('http://192.168.1.1/admin')}` });
    expect(result).toMatchObject({ ok: false, failure: { code: 'redirect_blocked' } });
  });

  it('discards a page served from a private address and fails it as private_ip', async () => {
    const { fetch } = setup();
    const result = await fetch({ url: 'http://rebind.example/page' });
    expect(result).toMatchObject({ ok: false, failure: { code: 'private_ip' } });
    expect(result).not.toHaveProperty('body');
  });

  it('waits for the connected address when the browser reports it late', async () => {
    const { fetch } = setup({ eventDelayMs: 100 });
    expect(await fetch({ url: 'http://rebind.example/page' })).toMatchObject({
      ok: false,
      failure: { code: 'private_ip' },
    });
    expect(await fetch({ url: 'http://news.example/page' })).toMatchObject({ ok: true });
  });

  it('fails a redirect sent from a private address as private_ip', async () => {
    const { fetch } = setup();
    const result = await fetch({
      url: `http://metadata.example/go?to=${encodeURIComponent('http://news.example/page')}`,
    });
    expect(result).toMatchObject({ ok: false, failure: { code: 'private_ip' } });
  });

  it('discards the page when the browser never reports the connected address', async () => {
    const { fetch } = setup({ extensionOrigin: 'chrome-extension://someoneelse' });
    const result = await fetch({ url: 'http://news.example/page', timeoutMs: 10_000 });
    expect(result).toMatchObject({ ok: false, failure: { code: 'private_ip' } });
  });

  it('exempts exactly the test origins of a test build from the address check', async () => {
    const { fetch } = setup({ allowedTestOrigins: [site.origin] });
    expect(await fetch({ url: `${site.origin}/page` })).toMatchObject({ ok: true });
    const production = setup();
    expect(await production.fetch({ url: `${site.origin}/page` })).toMatchObject({
      ok: false,
      failure: { code: 'url_blocked' },
    });
  });

  it('stops reading at the byte cap, counting only the bytes that arrived', async () => {
    const result = await setup().fetch({ url: 'http://news.example/stream?chunks=200', maxBytes: 10_000 });
    expect(result).toMatchObject({ ok: false, failure: { code: 'too_large' } });
    expect(result.bytesFetched).toBeGreaterThan(10_000);
    expect(result.bytesFetched).toBeLessThan(200 * 1024);
  });

  it('refuses a page whose declared length is over the cap without reading it', async () => {
    const result = await setup().fetch({ url: 'http://news.example/declared-huge' });
    expect(result).toMatchObject({ ok: false, failure: { code: 'too_large' }, bytesFetched: 0 });
  });

  it('gives up after the time limit, whether the headers or the body are late', async () => {
    const { fetch } = setup();
    const started = Date.now();
    expect(await fetch({ url: 'http://news.example/slow', timeoutMs: 200 })).toMatchObject({
      ok: false,
      failure: { code: 'timeout' },
    });
    expect(await fetch({ url: 'http://news.example/trickle', timeoutMs: 200 })).toMatchObject({
      ok: false,
      failure: { code: 'timeout' },
    });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('keeps only HTML and plain text', async () => {
    const { fetch } = setup();
    expect(await fetch({ url: 'http://news.example/binary' })).toMatchObject({
      ok: false,
      failure: { code: 'content_type' },
      bytesFetched: 0,
    });
    expect(await fetch({ url: 'http://news.example/untyped' })).toMatchObject({
      ok: false,
      failure: { code: 'content_type' },
    });
  });

  it('fails HTTP errors with their status and the Retry-After of a 429 or 503', async () => {
    const { fetch } = setup();
    expect(await fetch({ url: 'http://news.example/missing' })).toMatchObject({
      ok: false,
      failure: { code: 'http_error', httpStatus: 404, retryAfterSeconds: null },
    });
    expect(await fetch({ url: 'http://news.example/busy' })).toMatchObject({
      ok: false,
      failure: { code: 'http_error', httpStatus: 429, retryAfterSeconds: 120 },
    });
    const down = await fetch({ url: 'http://news.example/down' });
    expect(down).toMatchObject({ ok: false, failure: { code: 'http_error', httpStatus: 503 } });
    if (down.ok) throw new Error('expected a failure');
    expect(down.failure.retryAfterSeconds).toBeGreaterThanOrEqual(28);
    expect(down.failure.retryAfterSeconds).toBeLessThanOrEqual(31);
  });

  it('fails a host that does not resolve as a network error', async () => {
    expect(await setup().fetch({ url: 'http://nowhere.example/' })).toMatchObject({
      ok: false,
      failure: { code: 'network_error', detail: expect.stringContaining('ERR_NAME_NOT_RESOLVED') },
    });
  });
});
