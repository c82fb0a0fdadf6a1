import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LeasedJob } from '@protocol/jobs';
import { type FetchedPage, normalizeText } from '@protocol/results';
import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem/accounts';
import { article } from '../../../bench/synthetic-site';
import type { Database } from '../db/database';
import type { ScrapingSettings } from '../scraping-settings';
import { lease, upload } from '../test/scrape-fixtures';
import { fetchPageOnServer } from './server-fetch';
import { runVerificationRound, serverPageText } from './worker';

/**
 * A small simulated network for tests and benchmarks: devices that lease real jobs on local sites
 * whose pages change between fetches (time, view counts, related links), and upload signed batches
 * of what they fetched (the extension's extraction, run here) or of made-up articles.
 */

/** Sites whose every page is an article with a dateline, a view counter and related links that change per fetch. */
export async function startDynamicSites(count: number): Promise<{ origins: string[]; close: () => Promise<void> }> {
  const servers: Server[] = [];
  for (let s = 0; s < count; s += 1) {
    let views = 1000;
    const server = createServer((request, response) => {
      const match = /^\/story\/(\d+)$/.exec(request.url ?? '');
      if (!match) return response.writeHead(404).end();
      const content = article(Number(match[1]));
      views += 1 + Math.floor(Math.random() * 50);
      const related = Array.from({ length: 3 }, () => `<li>${article(Math.floor(Math.random() * 1e6)).title}</li>`);
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(`<!doctype html><html lang="en"><head><title>${content.title}</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<main><article><h1>${content.title}</h1>
<p class="meta">Updated ${new Date().toUTCString()} · ${views.toLocaleString('en-US')} views</p>
${content.sections.map((section) => `<h2>${section.heading}</h2>${section.paragraphs.map((p) => `<p>${p}</p>`).join('')}`).join('\n')}
</article></main><aside><h3>Related</h3><ul>${related.join('')}</ul></aside><footer>© 2026 Example News</footer></body></html>`);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    servers.push(server);
  }
  return {
    origins: servers.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    close: async () => {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

const sha256 = (text: string) => createHash('sha256').update(normalizeText(text), 'utf8').digest('hex');

export interface SimDevice {
  account: LocalAccount;
  /** Share of pages it makes up instead of fetching. */
  fabricates: number;
}

export interface SimulatedNetwork {
  /** Every device leases and uploads until no one gets a job for two rounds. */
  work(devices: readonly SimDevice[]): Promise<void>;
  /** Pools that stopped growing draw their missing audits; devices take them; the server settles the rest. */
  settle(devices: readonly SimDevice[]): Promise<void>;
}

export function simulatedNetwork(
  app: FastifyInstance,
  db: Database,
  settings: ScrapingSettings,
  random: () => number,
): SimulatedNetwork {
  /** What a device uploads for a job: the page as fetched and extracted (as the extension does), or a made-up article. */
  async function resultFor(job: LeasedJob, fabricate: boolean): Promise<FetchedPage> {
    const base = {
      outcome: 'fetched' as const,
      assignmentId: job.assignmentId,
      jobId: job.jobId,
      url: job.url,
      finalUrl: job.url,
      fetchedAt: new Date().toISOString(),
      bytesFetched: 9000,
      httpStatus: 200,
      contentType: 'text/html; charset=utf-8',
      lang: 'en',
      canonicalUrl: null,
      links: [],
    };
    if (fabricate) {
      const made = article(1_000_000 + Math.floor(random() * 1e6));
      return { ...base, title: made.title, text: made.text, textSha256: sha256(made.text) };
    }
    const fetched = await fetchPageOnServer(job.url, {
      maxBytes: settings.maxPageBytes,
      timeoutMs: 10_000,
      allowedTestOrigins: settings.testOrigins,
    });
    if (!fetched.ok) throw new Error(`the honest fetch failed: ${fetched.detail}`);
    return { ...base, title: fetched.title, text: fetched.text, textSha256: fetched.textSha256 };
  }

  async function work(devices: readonly SimDevice[]) {
    for (let round = 0, idle = 0; round < 200 && idle < 2; round += 1) {
      let leased = 0;
      for (const device of devices) {
        await db.query('update hosts set next_fetch_at = now()');
        const { jobs } = await lease(app, device.account, 5);
        leased += jobs.length;
        if (jobs.length === 0) continue;
        const results = [];
        for (const job of jobs) results.push(await resultFor(job, random() < device.fabricates));
        await upload(app, device.account, results);
      }
      idle = leased === 0 ? idle + 1 : 0;
    }
  }

  async function settle(devices: readonly SimDevice[]) {
    const drawNow = { ...settings, audits: { ...settings.audits, settleAfterSeconds: 0 } };
    for (let round = 0; round < 6; round += 1) {
      await runVerificationRound(db, drawNow, serverPageText(settings));
      await work(devices);
    }
    const serverNow = { ...settings, audits: { ...settings.audits, settleAfterSeconds: 0, serverAfterSeconds: 0 } };
    for (let round = 0; round < 100; round += 1) {
      const { drawn, settled } = await runVerificationRound(db, serverNow, serverPageText(settings));
      if (drawn === 0 && settled === 0) break;
    }
  }

  return { work, settle };
}
