import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it } from 'vitest';
import type { FetchFn } from '@/lib/api-client';
import { readSettings, writeSettings } from '@/lib/settings';
import { createFakeGleanerServer } from '@/lib/testing/fake-gleaner-server';
import { freshFakeBrowserForEachTest } from '@/lib/testing/fresh-fake-browser';
import { createTestDb } from '@/lib/testing/test-db';
import { createTestWorker } from './test-context';
import { maxInBurstWaitMs } from './work';

freshFakeBrowserForEachTest();

const site = 'https://news.example';
const pathsOf = (server: { received: { method: string; path: string }[] }) =>
  server.received.map((request) => `${request.method} ${request.path}`);

/** A worker that has consented and is connected, with `count` pages on as many sites waiting. */
async function connectedWorker(count = 3, options: Parameters<typeof createTestWorker>[0] = {}) {
  const worker = createTestWorker(options);
  await worker.handlers.setConsent({ given: true });
  worker.server.addJobs(Array.from({ length: count }, (_, i) => ({ url: `https://site${i + 1}.example/page` })));
  worker.server.received.length = 0;
  return worker;
}

describe('a scraping burst', () => {
  it('leases, fetches, stores and uploads every page, leaving an empty outbox and no job behind', async () => {
    const worker = await connectedWorker(3);
    await worker.runBurst();

    expect(worker.fetched.map((request) => request.url)).toEqual([
      'https://site1.example/page',
      'https://site2.example/page',
      'https://site3.example/page',
    ]);
    expect(worker.server.accepted.map((result) => result.url).sort()).toEqual(
      worker.fetched.map((request) => request.url).sort(),
    );
    expect(worker.server.accepted[0]).toMatchObject({
      outcome: 'fetched',
      title: 'Page https://site1.example/page',
      text: expect.stringContaining('The text of https://site1.example/page.'),
      lang: 'en',
      links: [],
    });
    expect(await worker.ctx.db.outbox.count()).toBe(0);
    expect(await worker.ctx.db.jobs.count()).toBe(0);
    const log = await worker.ctx.db.fetchLog.toArray();
    expect(log.map((row) => [row.url, row.outcome, row.bytes])).toEqual(
      worker.fetched.map((request) => [request.url, 'ok', 1_000]),
    );
  });

  it('passes each lease’s limits to the fetcher and collects links only when asked', async () => {
    const worker = await connectedWorker(0);
    worker.server.addJobs([{ url: `${site}/a`, maxBytes: 1234, timeoutMs: 5678, collectLinks: true }]);
    await worker.runBurst();
    expect(worker.fetched).toEqual([{ url: `${site}/a`, maxBytes: 1234, timeoutMs: 5678 }]);
    expect(worker.server.accepted[0]).toMatchObject({ links: [`${site}/next`] });
  });

  it('writes each result to the outbox before the upload that carries it', async () => {
    const server = createFakeGleanerServer();
    const outboxAtUpload: number[] = [];
    const fetch: FetchFn = async (input, init) => {
      if (new URL(input).pathname === '/v1/results') outboxAtUpload.push(await worker.ctx.db.outbox.count());
      return server.fetch(input, init);
    };
    const worker = await connectedWorker(2, { server, fetch });
    await worker.runBurst();
    expect(outboxAtUpload.length).toBeGreaterThan(0);
    expect(outboxAtUpload.every((count) => count > 0)).toBe(true);
  });

  it('keeps results in the outbox while the server is down and uploads them, once, when it is back', async () => {
    const worker = await connectedWorker(2);
    worker.server.misbehave('/v1/results', 'unreachable');
    await worker.runBurst();
    expect(worker.server.accepted).toEqual([]);
    expect(await worker.ctx.db.outbox.count()).toBe(2);
    expect((await readSettings(worker.ctx.db)).uploadRetry).toMatchObject({ failures: 1, unreachable: true });

    // The next sync reaches the server again, so the back-off gives way at once.
    worker.clock.now += 1_000;
    await worker.requestSync();
    await worker.runBurst();
    expect(await worker.ctx.db.outbox.count()).toBe(0);
    expect(worker.server.accepted.map((result) => result.url).sort()).toEqual([
      'https://site1.example/page',
      'https://site2.example/page',
    ]);
    expect((await readSettings(worker.ctx.db)).uploadRetry).toBeNull();
  });

  it('resends a batch whose answer was lost under the same batch id, and the server keeps each result once', async () => {
    const worker = await connectedWorker(1);
    worker.server.misbehave('/v1/results', 'lose-reply');
    await worker.runBurst();
    const [sent] = await worker.ctx.db.outbox.toArray();
    expect(sent?.batchId).not.toBe('');
    expect(worker.server.accepted).toHaveLength(1);

    worker.clock.now += 60_000;
    await worker.requestSync();
    await worker.runBurst();
    const uploads = worker.server.received.filter((request) => request.path === '/v1/results');
    expect(uploads.map((request) => JSON.parse(request.body).batchId)).toEqual([sent?.batchId, sent?.batchId]);
    expect(await worker.ctx.db.outbox.count()).toBe(0);
    expect(worker.server.accepted).toHaveLength(1);
  });

  it('lets a rejected result leave the outbox and keeps the server’s reason in the fetch log', async () => {
    const worker = await connectedWorker(1);
    const fetch = worker.ctx.fetchPage;
    worker.ctx.fetchPage = async (request) => {
      worker.server.leases.clear();
      return fetch(request);
    };
    await worker.runBurst();
    expect(await worker.ctx.db.outbox.count()).toBe(0);
    const [row] = await worker.ctx.db.fetchLog.toArray();
    expect(row?.rejection).toBe(
      'The server had not leased this task to this device, or the lease no longer exists. The server said: assignment a1 is not a lease of this device',
    );
  });

  it('uploads a plain text page holding NUL characters cleaned, and the server accepts it', async () => {
    const worker = await connectedWorker(1);
    const bytes = new TextEncoder().encode('id\u0000name\n1\u0000Ada\n');
    worker.pages.set('https://site1.example/page', {
      ok: true,
      body: {
        finalUrl: 'https://site1.example/page',
        httpStatus: 200,
        contentType: 'text/plain',
        mediaType: 'text/plain',
        bytes,
      },
      bytesFetched: bytes.byteLength,
    });
    await worker.runBurst();
    expect(worker.server.accepted).toMatchObject([{ outcome: 'fetched', text: 'idname\n1Ada\n' }]);
    expect((await worker.ctx.db.fetchLog.toArray()).map((row) => row.rejection)).toEqual([null]);
  });

  it('uploads failures with their code, HTTP status and Retry-After', async () => {
    const worker = await connectedWorker(0);
    worker.server.addJobs([{ url: `${site}/busy` }]);
    worker.pages.set(`${site}/busy`, {
      ok: false,
      failure: { code: 'http_error', detail: 'The site answered HTTP 429.', httpStatus: 429, retryAfterSeconds: 120 },
      bytesFetched: 0,
    });
    await worker.runBurst();
    expect(worker.server.accepted[0]).toMatchObject({
      outcome: 'failed',
      error: 'http_error',
      httpStatus: 429,
      retryAfterSeconds: 120,
    });
    expect(await worker.ctx.db.fetchLog.toArray()).toMatchObject([{ outcome: 'error', status: 429 }]);
  });

  it('waits in-process for a short retryAfterSeconds and leaves a long one to the next alarm', async () => {
    const worker = await connectedWorker(1);
    worker.server.setRetryAfterSeconds(5);
    let leases = 0;
    const fetch = worker.ctx.fetch;
    worker.ctx.fetch = async (input, init) => {
      if (new URL(input).pathname === '/v1/jobs/lease') {
        leases += 1;
        // After the first empty answer, a new job appears; after that, the server asks for a minute.
        if (leases === 3) worker.server.addJobs([{ url: `${site}/later` }]);
        if (leases === 4) worker.server.setRetryAfterSeconds(60);
      }
      return fetch(input, init);
    };
    await worker.runBurst();
    expect(worker.sleeps).toEqual([5_000]);
    expect(worker.fetched.map((request) => request.url)).toEqual(['https://site1.example/page', `${site}/later`]);
    const { nextLeaseAt } = await readSettings(worker.ctx.db);
    expect(nextLeaseAt).toBe(worker.clock.now + 60_000);
    expect(60_000).toBeGreaterThan(maxInBurstWaitMs);

    // A burst before that time does not ask the server for jobs.
    worker.server.received.length = 0;
    await worker.runBurst();
    expect(pathsOf(worker.server)).not.toContain('POST /v1/jobs/lease');
  });

  it('keeps a busy server’s Retry-After for the lease, so neither this burst nor a restarted worker asks earlier', async () => {
    const worker = await connectedWorker(1);
    worker.server.misbehave('/v1/jobs/lease', {
      status: 503,
      body: { code: 'overloaded', message: 'The server is busy.' },
      headers: { 'retry-after': '300' },
    });
    await worker.runBurst();
    expect(worker.fetched).toEqual([]);
    expect((await readSettings(worker.ctx.db)).nextLeaseAt).toBe(worker.clock.now + 300_000);

    // A new worker on the same database (the old one was killed) waits too; the server keeps the old clock.
    const restarted = createTestWorker({ db: worker.ctx.db, server: worker.server });
    worker.clock.now += 200_000;
    restarted.clock.now = worker.clock.now;
    worker.server.received.length = 0;
    await restarted.runBurst();
    expect(pathsOf(worker.server)).not.toContain('POST /v1/jobs/lease');

    worker.clock.now += 100_000;
    restarted.clock.now = worker.clock.now;
    await restarted.runBurst();
    expect(pathsOf(worker.server)).toContain('POST /v1/jobs/lease');
    expect(restarted.fetched.map((request) => request.url)).toEqual(['https://site1.example/page']);
  });

  it('finishes jobs a killed worker had leased and drops those whose lease ran out', async () => {
    const indexedDB = new IDBFactory();
    const first = await connectedWorker(0, { db: createTestDb(indexedDB) });
    const now = first.clock.now;
    const device = (await readSettings(first.ctx.db)).connection.deviceAddress ?? '0x';
    const lease = { keepRawHtml: false, collectLinks: false, maxBytes: 1_000_000, timeoutMs: 10_000 };
    const fresh = { ...lease, assignmentId: 'a-fresh', jobId: 'j-fresh', url: 'https://fresh.example/' };
    // The old worker leased two jobs (the server agrees on the fresh one), then died before fetching.
    first.server.leases.set(fresh.assignmentId, {
      job: { ...fresh, leaseExpiresAt: new Date(now + 60_000).toISOString() },
      device: device as `0x${string}`,
      state: 'leased',
    });
    await first.ctx.db.jobs.bulkAdd([
      {
        ...lease,
        id: 'a-fresh',
        jobId: 'j-fresh',
        url: fresh.url,
        state: 'fetching',
        leasedAt: now,
        leaseExpiresAt: now + 60_000,
      },
      {
        ...lease,
        id: 'a-stale',
        jobId: 'j-stale',
        url: 'https://stale.example/',
        state: 'leased',
        leasedAt: now - 400_000,
        leaseExpiresAt: now - 100_000,
      },
    ]);
    first.ctx.db.close();

    const second = createTestWorker({ db: createTestDb(indexedDB), server: first.server });
    second.clock.now = now;
    first.server.setRetryAfterSeconds(60);
    await second.runBurst();
    expect(second.fetched.map((request) => request.url)).toEqual(['https://fresh.example/']);
    expect(await second.ctx.db.jobs.count()).toBe(0);
    expect(first.server.accepted.map((result) => result.assignmentId)).toEqual(['a-fresh']);
  });

  it('stops leasing once today’s bytes reach the daily budget', async () => {
    const worker = await connectedWorker(3);
    await writeSettings(worker.ctx.db, { dailyBudgetBytes: 2_000_000 });
    worker.pages.set('https://site1.example/page', {
      ...(await import('./test-context')).fakePage('https://site1.example/page', 2_500_000),
    });
    await worker.runBurst();
    expect(worker.fetched.map((request) => request.url)).toEqual(['https://site1.example/page']);
    expect(pathsOf(worker.server).filter((path) => path === 'POST /v1/jobs/lease')).toHaveLength(1);
  });

  it('does nothing while paused or without consent', async () => {
    const worker = await connectedWorker(2);
    await worker.handlers.pause({ until: worker.clock.now + 3_600_000 });
    worker.server.received.length = 0;
    await worker.runBurst();
    await worker.handlers.pause({ until: null });
    await worker.handlers.setConsent({ given: false });
    worker.server.received.length = 0;
    await worker.runBurst();
    expect(worker.server.received).toEqual([]);
    expect(worker.fetched).toEqual([]);
  });

  it('stops between jobs when paused during a burst', async () => {
    const worker = await connectedWorker(0);
    worker.server.addJobs([{ url: 'https://a.example/' }, { url: 'https://b.example/' }]);
    const fetch = worker.ctx.fetchPage;
    worker.ctx.fetchPage = async (request) => {
      await writeSettings(worker.ctx.db, { pausedUntil: worker.clock.now + 60_000 });
      return fetch(request);
    };
    await worker.runBurst();
    expect(worker.fetched.map((request) => request.url)).toEqual(['https://a.example/']);
    expect(await worker.ctx.db.jobs.count()).toBe(1);
  });

  it('stores the points summary after uploading', async () => {
    const worker = await connectedWorker(2);
    await worker.runBurst();
    expect((await readSettings(worker.ctx.db)).points).toMatchObject({ pending: 20, verified: 0 });
  });
});
