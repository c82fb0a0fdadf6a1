import dc from 'node:diagnostics_channel';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type ResolvedAddress, type Resolver, type SafeFetchResult, safeFetch } from './safe-fetch';

interface TestSite {
  origin: string;
  port: number;
  /** Every request the site received, as `METHOD path`. */
  requests: string[];
  headers: IncomingMessage['headers'][];
  close: () => Promise<void>;
}

const openSites: TestSite[] = [];

/** A real HTTP server on a free port of 127.0.0.1, recording what it receives. */
async function startSite(handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<TestSite> {
  const requests: string[] = [];
  const headers: IncomingMessage['headers'][] = [];
  const server: Server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    headers.push(request.headers);
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const site: TestSite = {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    headers,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  openSites.push(site);
  return site;
}

/** Every outgoing TCP connection attempt of this process (address and port), seen through Node's diagnostics channel. */
function recordConnectionAttempts(): { attempts: string[]; stop: () => void } {
  const attempts: string[] = [];
  const onSocket = (message: unknown) => {
    const { socket } = message as { socket: Socket };
    socket.on('connectionAttempt', (ip: string, port: number) => attempts.push(`${ip}:${port}`));
  };
  dc.subscribe('net.client.socket', onSocket);
  return { attempts, stop: () => dc.unsubscribe('net.client.socket', onSocket) };
}

/** A resolver with fixed answers per call, counting how often each name was asked. */
function scriptedResolver(...answers: ResolvedAddress[][]): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolver = async (hostname: string) => {
    calls.push(hostname);
    return answers[Math.min(calls.length, answers.length) - 1] ?? [];
  };
  return Object.assign(resolver, { calls });
}

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

function expectFailure(result: SafeFetchResult, code: string): string {
  if (result.ok) throw new Error(`expected ${code}, got HTTP ${result.status} from ${result.finalUrl}`);
  expect(result.code, result.detail).toBe(code);
  return result.detail;
}

const base = { maxBytes: 64 * 1024, timeoutMs: 2000 };
let recorder: ReturnType<typeof recordConnectionAttempts> | undefined;

afterEach(async () => {
  recorder?.stop();
  recorder = undefined;
  await Promise.all(openSites.splice(0).map((site) => site.close()));
});

describe('safeFetch', () => {
  it('fetches an allowed test origin with identity encoding, the caller headers and no cookies', async () => {
    const site = await startSite((_request, response) => response.end('hello'));
    const result = await safeFetch(`${site.origin}/robots.txt#fragment`, {
      ...base,
      allowedTestOrigins: [site.origin],
      headers: { 'user-agent': 'GleanerBot/0.1' },
    });
    expect(result).toMatchObject({ ok: true, status: 200, finalUrl: `${site.origin}/robots.txt`, truncated: false });
    expect(result.ok && result.body.toString()).toBe('hello');
    expect(site.requests).toEqual(['GET /robots.txt']);
    expect(site.headers[0]).toMatchObject({
      host: `127.0.0.1:${site.port}`,
      'user-agent': 'GleanerBot/0.1',
      'accept-encoding': 'identity',
    });
    expect(site.headers[0]?.cookie).toBeUndefined();
  });

  it('refuses a URL the URL rules forbid without resolving or connecting', async () => {
    const site = await startSite((_request, response) => response.end('secret'));
    const resolver = scriptedResolver([v4('93.184.215.14')]);
    recorder = recordConnectionAttempts();
    expectFailure(await safeFetch(`${site.origin}/`, { ...base, lookup: resolver }), 'url_blocked');
    expectFailure(await safeFetch('http://printer.local/', { ...base, lookup: resolver }), 'url_blocked');
    expectFailure(await safeFetch('file:///etc/passwd', { ...base, lookup: resolver }), 'url_blocked');
    expect(resolver.calls).toEqual([]);
    expect(recorder.attempts).toEqual([]);
    expect(site.requests).toEqual([]);
  });

  it.each([
    ['127.0.0.1', [v4('127.0.0.1')]],
    ['10.0.0.5', [v4('10.0.0.5')]],
    ['::1', [v6('::1')]],
    ['::ffff:127.0.0.1', [v6('::ffff:127.0.0.1')]],
    ['169.254.169.254 after a public address', [v4('93.184.215.14'), v4('169.254.169.254')]],
  ])('refuses a hostname that resolves to %s as private_address, opening no connection', async (_label, answer) => {
    const resolver = scriptedResolver(answer);
    recorder = recordConnectionAttempts();
    const detail = expectFailure(
      await safeFetch('http://robots.example/robots.txt', { ...base, lookup: resolver }),
      'private_address',
    );
    expect(detail).toContain('robots.example resolves to');
    expect(resolver.calls).toEqual(['robots.example']);
    expect(recorder.attempts).toEqual([]);
  });

  it('connects only to the address it checked, so a rebinding resolver never gets a second question', async () => {
    // First answer public (3000::1 is global unicast but unallocated, so the connection goes nowhere),
    // every later answer loopback: re-resolving at connect time would be the rebinding hole.
    const resolver = scriptedResolver([v6('3000::1')], [v4('127.0.0.1')]);
    recorder = recordConnectionAttempts();
    const started = Date.now();
    const result = await safeFetch('http://rebind.example/robots.txt', { ...base, timeoutMs: 500, lookup: resolver });
    expect(['timeout', 'network_error']).toContain(result.ok ? 'ok' : result.code);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(resolver.calls).toEqual(['rebind.example']);
    expect(recorder.attempts).toEqual(['3000::1:80']);
  });

  it('resolves each redirect hop once, with its own check', async () => {
    const start = await startSite((_request, response) =>
      response.writeHead(302, { location: 'http://hop.example/next' }).end(),
    );
    const resolver = scriptedResolver([v4('192.168.1.20')], [v4('93.184.215.14')]);
    recorder = recordConnectionAttempts();
    const detail = expectFailure(
      await safeFetch(`${start.origin}/`, { ...base, allowedTestOrigins: [start.origin], lookup: resolver }),
      'private_address',
    );
    expect(detail).toContain('redirect to http://hop.example/next');
    expect(resolver.calls).toEqual(['hop.example']);
    expect(recorder.attempts).toEqual([`127.0.0.1:${start.port}`]);
  });

  it.each([
    ['another port of 127.0.0.1', 'redirect_blocked', (other: TestSite) => `http://127.0.0.1:${other.port}/`],
    ['a private IP literal', 'redirect_blocked', () => 'http://10.0.0.1/'],
    ['a name resolving to loopback', 'private_address', () => 'http://inside.example/'],
    ['an invalid URL', 'redirect_blocked', () => 'http://[::1/'],
  ])('refuses a redirect from an allowed test origin to %s', async (_label, code, location) => {
    const other = await startSite((_request, response) => response.end('internal'));
    const start = await startSite((_request, response) => response.writeHead(301, { location: location(other) }).end());
    const resolver = scriptedResolver([v4('127.0.0.1')]);
    expectFailure(
      await safeFetch(`${start.origin}/robots.txt`, { ...base, allowedTestOrigins: [start.origin], lookup: resolver }),
      code,
    );
    expect(start.requests).toEqual(['GET /robots.txt']);
    expect(other.requests).toEqual([]);
  });

  it('follows redirects between allowed origins and reports the final URL', async () => {
    const end = await startSite((_request, response) => response.end('arrived'));
    const start = await startSite((_request, response) =>
      response.writeHead(308, { location: `${end.origin}/final?x=1` }).end(),
    );
    const result = await safeFetch(`${start.origin}/`, { ...base, allowedTestOrigins: [start.origin, end.origin] });
    expect(result).toMatchObject({ ok: true, status: 200, finalUrl: `${end.origin}/final?x=1` });
    expect(result.ok && result.body.toString()).toBe('arrived');
  });

  it('stops after maxRedirects hops with too_many_redirects', async () => {
    const site = await startSite((request, response) =>
      response.writeHead(302, { location: `/loop${(request.url?.length ?? 0) + 1}` }).end(),
    );
    expectFailure(
      await safeFetch(`${site.origin}/`, { ...base, maxRedirects: 3, allowedTestOrigins: [site.origin] }),
      'too_many_redirects',
    );
    expect(site.requests).toHaveLength(4);
  });

  it('cuts an endless body at maxBytes while streaming and closes the connection', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    let closedBeforeFinish: (early: boolean) => void = () => {};
    const serverSawClose = new Promise<boolean>((resolve) => {
      closedBeforeFinish = resolve;
    });
    let written = 0;
    const site = await startSite((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.on('close', () => closedBeforeFinish(!response.writableFinished));
      const pump = () => {
        // 50 MB at most, so a broken client cannot make the test run forever.
        while (!response.destroyed && written < 50 * 1024 * 1024) {
          written += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        response.end();
      };
      pump();
    });
    const started = Date.now();
    const result = await safeFetch(`${site.origin}/big`, {
      maxBytes: 100_000,
      timeoutMs: 5000,
      allowedTestOrigins: [site.origin],
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result).toMatchObject({ ok: true, status: 200, truncated: true });
    expect(result.ok && result.body.length).toBe(100_000);
    expect(await serverSawClose).toBe(true);
    expect(written).toBeLessThan(50 * 1024 * 1024);
  });

  it('keeps a body of exactly maxBytes whole and untruncated', async () => {
    const site = await startSite((_request, response) => response.end(Buffer.alloc(1000, 'b')));
    const result = await safeFetch(`${site.origin}/`, { ...base, maxBytes: 1000, allowedTestOrigins: [site.origin] });
    expect(result).toMatchObject({ ok: true, truncated: false });
    expect(result.ok && result.body.length).toBe(1000);
  });

  it('refuses a body over maxBytes as too_large when asked to fail', async () => {
    const site = await startSite((_request, response) => {
      response.writeHead(200);
      response.end(Buffer.alloc(5000, 'c'));
    });
    expectFailure(
      await safeFetch(`${site.origin}/`, {
        ...base,
        maxBytes: 1000,
        onTooLarge: 'fail',
        allowedTestOrigins: [site.origin],
      }),
      'too_large',
    );
  });

  it('times out within about timeoutMs when the server never answers', async () => {
    const site = await startSite(() => {});
    const started = Date.now();
    expectFailure(
      await safeFetch(`${site.origin}/`, { ...base, timeoutMs: 300, allowedTestOrigins: [site.origin] }),
      'timeout',
    );
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(1000);
  });

  it('times out when the body stalls after the headers', async () => {
    const site = await startSite((_request, response) => {
      response.writeHead(200, { 'content-length': '1000' });
      response.write('only a little');
    });
    expectFailure(
      await safeFetch(`${site.origin}/`, { ...base, timeoutMs: 300, allowedTestOrigins: [site.origin] }),
      'timeout',
    );
  });

  it('times out when the resolver never answers', async () => {
    const started = Date.now();
    const hanging: Resolver = () => new Promise(() => {});
    expectFailure(await safeFetch('http://slow.example/', { ...base, timeoutMs: 200, lookup: hanging }), 'timeout');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reports a failed or empty lookup as dns_failed', async () => {
    const failing: Resolver = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example'), { code: 'ENOTFOUND' });
    };
    expect(
      expectFailure(await safeFetch('http://nowhere.example/', { ...base, lookup: failing }), 'dns_failed'),
    ).toContain('ENOTFOUND');
    expectFailure(await safeFetch('http://empty.example/', { ...base, lookup: scriptedResolver([]) }), 'dns_failed');
  });

  it('reports a refused connection as network_error', async () => {
    const site = await startSite(() => {});
    const origin = site.origin;
    await site.close();
    openSites.splice(0);
    expectFailure(await safeFetch(`${origin}/`, { ...base, allowedTestOrigins: [origin] }), 'network_error');
  });

  it('refuses a compressed body it did not ask for', async () => {
    const site = await startSite((_request, response) =>
      response.writeHead(200, { 'content-encoding': 'gzip' }).end('x'),
    );
    expectFailure(
      await safeFetch(`${site.origin}/`, { ...base, allowedTestOrigins: [site.origin] }),
      'unsupported_encoding',
    );
  });
});
