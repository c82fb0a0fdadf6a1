import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { generatePrivateKey, type LocalAccount, privateKeyToAccount } from 'viem/accounts';
import { startGleanerServer } from '../e2e/gleaner-server';
import type { LeasedJob, LeaseResponse } from '../protocol/jobs';
import { signRequest } from '../protocol/signing';
import { gzipBomb } from '../server/src/test/gzip-bomb';
import { startDynamicSites } from '../server/src/verification/simulated-network';
import { pageOf } from './ingest';
import { median } from './stats';

const originCount = 10;
const pagesPerBatch = 100;
const batches = 40;
const phaseMs = 8_000;
const healthEveryMs = 5;

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

/** Asks /health every few milliseconds until `stop` resolves; returns each answer's latency. */
async function pollHealth(url: string, stop: Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  let done = false;
  void stop.finally(() => {
    done = true;
  });
  while (!done) {
    const started = performance.now();
    const response = await fetch(`${url}/health`);
    await response.arrayBuffer();
    // A 503 (load shed) is an answer too, and a fast one is what shedding is for: count its latency.
    if (!response.ok && response.status !== 503) throw new Error(`/health answered ${response.status}`);
    latencies.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, healthEveryMs));
  }
  return latencies;
}

/**
 * How responsive the embedded-database server stays: `/health` latency (p50, p99, max) on a server
 * process with PGlite, idle (the anchor), while signed page batches are ingested back to back, and
 * while an unauthenticated client sends gzip bombs back to back. Server in its own process; every
 * request body is built and signed before a phase starts, so the client's own work does not skew it.
 */
export async function benchHealthUnderLoad(): Promise<string> {
  // Their robots.txt is missing (404: everything allowed); the pages are never fetched here.
  const sites = await startDynamicSites(originCount);
  const server = await startGleanerServer({
    env: {
      GLEANER_TEST_ORIGINS: sites.origins.join(','),
      GLEANER_POLITENESS_MS: '0',
      GLEANER_CANARY_RATE: '0',
      GLEANER_MAX_LEASES_PER_DEVICE: '100000',
      GLEANER_DEVICE_REQUESTS_PER_MINUTE: '0',
    },
  });
  const signingServer = { origin: server.url, chainId: 31337 };
  const signedPost = async (device: LocalAccount, path: string, body: unknown) => {
    const bytes = new TextEncoder().encode(JSON.stringify(body));
    const headers = await signRequest(device, { method: 'POST', path, body: bytes }, signingServer);
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: bytes,
    });
    if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
    return response.json() as Promise<unknown>;
  };
  try {
    const buyer = (await (
      await fetch(`${server.url}/v1/admin/buyers`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.operatorToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Health bench' }),
      })
    ).json()) as { apiKey: string };
    const total = pagesPerBatch * batches;
    const urls = Array.from({ length: total }, (_, i) => `${sites.origins[i % originCount]}/a/${i}`);
    const created = await fetch(`${server.url}/v1/campaigns`, {
      method: 'POST',
      headers: { authorization: `Bearer ${buyer.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'health bench', urls }),
    });
    if (created.status !== 201) throw new Error(`campaign: ${created.status} ${await created.text()}`);
    const device = privateKeyToAccount(generatePrivateKey());
    await signedPost(device, '/v1/devices', { extensionVersion: 'bench', browser: 'other' });

    // Lease everything (robots.txt is fetched in the background first), then build and sign every batch.
    const jobs: LeasedJob[] = [];
    const deadline = Date.now() + 60_000;
    while (jobs.length < total && Date.now() < deadline) {
      const leased = (await signedPost(device, '/v1/jobs/lease', { max: 20 })) as LeaseResponse;
      jobs.push(...leased.jobs);
      if (leased.jobs.length === 0) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const uploads: Array<{ body: Uint8Array<ArrayBuffer>; headers: Record<string, string> }> = [];
    for (let b = 0; b * pagesPerBatch < jobs.length; b += 1) {
      const pages = jobs
        .slice(b * pagesPerBatch, (b + 1) * pagesPerBatch)
        .map((job, i) => pageOf(job, b * pagesPerBatch + i));
      const body = new Uint8Array(gzipSync(JSON.stringify({ batchId: randomUUID(), results: pages })));
      const headers = await signRequest(device, { method: 'POST', path: '/v1/results', body }, signingServer);
      uploads.push({ body, headers: { ...headers, 'content-type': 'application/json', 'content-encoding': 'gzip' } });
    }
    const bomb = await gzipBomb();

    const idle = await pollHealth(server.url, new Promise((resolve) => setTimeout(resolve, phaseMs / 2)));

    let ingested = 0;
    const ingestStarted = performance.now();
    const ingesting = (async () => {
      for (const upload of uploads) {
        const response = await fetch(`${server.url}/v1/results`, {
          method: 'POST',
          headers: upload.headers,
          body: upload.body,
        });
        await response.arrayBuffer();
        if (response.ok) ingested += pagesPerBatch;
      }
    })();
    const duringIngest = await pollHealth(server.url, ingesting);
    const ingestSeconds = (performance.now() - ingestStarted) / 1000;

    let bombs = 0;
    const bombing = (async () => {
      const until = performance.now() + phaseMs;
      while (performance.now() < until) {
        const response = await fetch(`${server.url}/v1/results`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
          body: new Uint8Array(bomb),
        });
        await response.arrayBuffer();
        if (response.status !== 401) throw new Error(`an unsigned bomb got ${response.status}`);
        bombs += 1;
      }
    })();
    const duringBombs = await pollHealth(server.url, bombing);

    const row = (label: string, latencies: number[]) =>
      `    ${label.padEnd(52)} p50 ${median(latencies).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms (${latencies.length} asks)`;
    return [
      `/health latency on a server process with embedded PGlite (a worker thread), asked every ${healthEveryMs} ms`,
      row('idle (anchor)', idle),
      row(`ingesting signed gzip batches back to back`, duringIngest),
      `      ${ingested} pages in ${ingestSeconds.toFixed(1)} s = ${(ingested / ingestSeconds).toFixed(0)} pages/s meanwhile`,
      row(`unsigned ${(bomb.length / 1024).toFixed(0)} KB gzip bombs (256 MB inflated) back to back`, duringBombs),
      `      ${bombs} bombs refused with 401, ${(bombs / (phaseMs / 1000)).toFixed(0)}/s`,
    ].join('\n');
  } finally {
    await server.stop();
    await sites.close();
  }
}
