import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Resolver } from '../net/safe-fetch';
import type { ScrapingSettings } from '../scraping-settings';
import { testScrapingSettings } from '../test/app';
import { fetchRobotsTxt, robotsRules } from './robots-service';

const closers: Array<() => Promise<void>> = [];

/** A real site on a free port of 127.0.0.1; `requests` records every path asked for. */
async function startSite(handler: (request: IncomingMessage, response: ServerResponse) => void) {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(request.url ?? '');
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { origin: `http://127.0.0.1:${port}`, requests };
}

const settingsFor = (...origins: string[]): ScrapingSettings => ({ ...testScrapingSettings, testOrigins: origins });

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

describe('fetchRobotsTxt', () => {
  it('treats an origin whose name resolves to loopback as unreachable, saying why, without connecting', async () => {
    const site = await startSite((_request, response) => response.end('User-agent: *\nAllow: /\n'));
    const calls: string[] = [];
    const loopback: Resolver = async (hostname) => {
      calls.push(hostname);
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const fetched = await fetchRobotsTxt('http://robots.example', settingsFor(site.origin), loopback);
    expect(fetched).toMatchObject({ status: 'unreachable', body: null });
    expect(fetched.status === 'unreachable' && fetched.detail).toMatch(
      /^private_address: robots\.example resolves to 127\.0\.0\.1/,
    );
    expect(calls).toEqual(['robots.example']);
    expect(site.requests).toEqual([]);
  });

  it('treats a redirect to a private address as unreachable', async () => {
    const site = await startSite((_request, response) =>
      response.writeHead(301, { location: 'http://169.254.169.254/latest/meta-data/' }).end(),
    );
    const fetched = await fetchRobotsTxt(site.origin, settingsFor(site.origin));
    expect(fetched.status === 'unreachable' && fetched.detail).toMatch(/^redirect_blocked: /);
  });

  it('allows everything when robots.txt is a 404', async () => {
    const site = await startSite((_request, response) => response.writeHead(404).end('not here'));
    expect(await fetchRobotsTxt(site.origin, settingsFor(site.origin))).toEqual({ status: 'allow_all', body: null });
    expect(site.requests).toEqual(['/robots.txt']);
  });

  it('treats a 503 as unreachable (disallow all until retried)', async () => {
    const site = await startSite((_request, response) => response.writeHead(503).end('busy'));
    expect(await fetchRobotsTxt(site.origin, settingsFor(site.origin))).toEqual({
      status: 'unreachable',
      body: null,
      detail: 'HTTP 503',
    });
  });

  it('sends the GleanerBot user-agent and parses a small robots.txt', async () => {
    const agents: Array<string | undefined> = [];
    const site = await startSite((request, response) => {
      agents.push(request.headers['user-agent']);
      response.end('User-agent: GleanerBot\nDisallow: /private/\n');
    });
    const fetched = await fetchRobotsTxt(site.origin, settingsFor(site.origin));
    expect(fetched).toEqual({ status: 'parsed', body: 'User-agent: GleanerBot\nDisallow: /private/\n' });
    expect(agents).toEqual(['GleanerBot/0.1 (+robots.txt check)']);
  });

  it('parses a 2 MB robots.txt from its first 500 KiB, dropping the line the cap cuts', async () => {
    const cap = 500 * 1024;
    const head = 'User-agent: *\nDisallow: /\nAllow: /early/\n';
    const filler = '# filler line to pad the file out\n';
    let body = head;
    while (body.length + filler.length < cap - 8) body += filler;
    body += `#${' '.repeat(cap - 8 - body.length - 2)}\n`;
    // This line straddles the cap exactly after "Allow: /": parsed cut, it would allow everything.
    body += `Allow: /${'x'.repeat(64)}\n`;
    body += 'Allow: /late/\n';
    while (body.length < 2 * 1024 * 1024) body += filler;
    const site = await startSite((_request, response) => response.end(body));

    const fetched = await fetchRobotsTxt(site.origin, settingsFor(site.origin));
    expect(fetched.status).toBe('parsed');
    const text = fetched.body ?? '';
    expect(text.length).toBeLessThanOrEqual(cap);
    expect(text.length).toBe(cap - 8);
    expect(text.endsWith('\n')).toBe(true);
    const rules = robotsRules(site.origin, fetched.status, fetched.body);
    expect(rules.isAllowed(`${site.origin}/early/page`)).toBe(true);
    expect(rules.isAllowed(`${site.origin}/somewhere`)).toBe(false);
    expect(rules.isAllowed(`${site.origin}/late/page`)).toBe(false);
  });
});
