import { BaseError } from '@protocol/errors';
import type { LeasedJob } from '@protocol/jobs';
import type { FetchedPage, ResultBatchAck, ScrapeResult } from '@protocol/results';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApiClient } from './api-client';
import type { GleanerDb } from './db';
import { textSha256 } from './extract/text-hash';
import type { NewFetchLogRow } from './fetch-log';
import { maxBatchBytes, nextBatch, recordBytes, storeResult } from './outbox';
import { currentConsentVersion, readSettings, writeSettings } from './settings';
import { createFakeGleanerServer } from './testing/fake-gleaner-server';
import { createTestDb } from './testing/test-db';
import { uploadBackoffMaxMs, uploadBackoffMs, uploadFaultOf, uploadOutbox } from './uploader';

beforeEach(() => {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Stores a result as the scraper does: the job it answers was leased and stored first. */
async function storeLeased(db: GleanerDb, result: ScrapeResult, log: NewFetchLogRow, at: number): Promise<void> {
  await db.jobs.put({
    id: result.assignmentId,
    jobId: result.jobId,
    url: result.url,
    state: 'fetching',
    keepRawHtml: false,
    collectLinks: false,
    maxBytes: 1,
    timeoutMs: 1,
    leasedAt: at,
    leaseExpiresAt: at + 1,
  });
  await storeResult(db, result, log, at);
}

const consented = { given: true, at: 1, version: currentConsentVersion };

async function setup(count: number) {
  const db = createTestDb();
  await writeSettings(db, { consent: consented });
  for (let i = 1; i <= count; i += 1) {
    await storeLeased(
      db,
      {
        assignmentId: String(i),
        jobId: `j${i}`,
        url: `https://example.com/${i}`,
        fetchedAt: '2025-06-01T12:00:00.000Z',
        bytesFetched: 0,
        outcome: 'failed',
        error: 'timeout',
        detail: 'slow',
        httpStatus: null,
        retryAfterSeconds: null,
      },
      {
        kind: 'page',
        at: i,
        url: `https://example.com/${i}`,
        status: null,
        bytes: 0,
        outcome: 'error',
        reason: 'timeout',
        assignmentId: String(i),
        rejection: null,
      },
      i,
    );
  }
  const clock = { now: 1_000_000 };
  let answer: (batchId: string, results: readonly unknown[]) => Promise<ResultBatchAck> = async (batchId, results) => ({
    batchId,
    acks: results.map((_, index) => ({ index, assignmentId: String(index + 1), status: 'accepted' as const })),
  });
  const calls: string[] = [];
  const deps = {
    db,
    serverUrl: (await readSettings(db)).serverUrl,
    uploadResults: (batchId: string, results: readonly unknown[]) => {
      calls.push(batchId);
      return answer(batchId, results);
    },
    now: () => clock.now,
    random: () => 0.5,
    newBatchId: () => crypto.randomUUID(),
  };
  return {
    db,
    clock,
    calls,
    deps,
    answerWith: (next: typeof answer) => {
      answer = next;
    },
  };
}

const unreachable = async (): Promise<ResultBatchAck> => {
  const { BaseError } = await import('@protocol/errors');
  throw new BaseError('server_unreachable', 'Could not reach the Gleaner server.');
};

describe('uploadBackoffMs', () => {
  it('doubles from 5 s with equal jitter and stops growing at 10 minutes', () => {
    expect([1, 2, 3, 4].map((failures) => uploadBackoffMs(failures, () => 0))).toEqual([2_500, 5_000, 10_000, 20_000]);
    expect([1, 2, 3, 4].map((failures) => uploadBackoffMs(failures, () => 1))).toEqual([5_000, 10_000, 20_000, 40_000]);
    expect(uploadBackoffMs(30, () => 1)).toBe(uploadBackoffMaxMs);
    expect(uploadBackoffMs(30, () => 0)).toBe(uploadBackoffMaxMs / 2);
  });
});

describe('uploadOutbox', () => {
  it('uploads every row and leaves the outbox empty once each is acknowledged', async () => {
    const { db, deps, calls } = await setup(3);
    expect(await uploadOutbox(deps)).toMatchObject({ batches: 1, accepted: 3, stopped: null });
    expect(calls).toHaveLength(1);
    expect(await db.outbox.count()).toBe(0);
  });

  it('keeps every row on a failure and stores when to try again, growing with each failure', async () => {
    const { db, deps, clock, answerWith, calls } = await setup(2);
    answerWith(unreachable);
    expect(await uploadOutbox(deps)).toMatchObject({ stopped: 'failed' });
    expect(await db.outbox.count()).toBe(2);
    expect((await readSettings(db)).uploadRetry).toEqual({
      failures: 1,
      failedAt: clock.now,
      nextAttemptAt: clock.now + 3_750,
      unreachable: true,
      message: 'Could not reach the Gleaner server.',
      code: 'server_unreachable',
    });

    clock.now += 1_000;
    expect(await uploadOutbox(deps)).toMatchObject({ stopped: 'backoff' });
    expect(calls).toHaveLength(1);

    clock.now += 3_000;
    await uploadOutbox(deps);
    expect((await readSettings(db)).uploadRetry).toMatchObject({ failures: 2, nextAttemptAt: clock.now + 7_500 });
    expect(new Set(calls).size).toBe(1);
  });

  it('keeps rows when the server answers with an error, and waits even after other contact', async () => {
    const { db, deps, clock, answerWith } = await setup(1);
    answerWith(async () => {
      const { BaseError } = await import('@protocol/errors');
      throw new BaseError('internal_error', 'Something went wrong on the server.');
    });
    await uploadOutbox(deps);
    expect(await db.outbox.count()).toBe(1);
    const settings = await readSettings(db);
    await writeSettings(db, { connection: { ...settings.connection, lastContactAt: clock.now + 1 } });
    clock.now += 1_000;
    expect(await uploadOutbox(deps)).toMatchObject({ stopped: 'backoff' });
  });

  it('ends an unreachable back-off as soon as the server answered again', async () => {
    const { db, deps, clock, answerWith } = await setup(1);
    answerWith(unreachable);
    await uploadOutbox(deps);
    answerWith(async (batchId) => ({ batchId, acks: [{ index: 0, assignmentId: '1', status: 'accepted' }] }));
    clock.now += 500;
    const settings = await readSettings(db);
    await writeSettings(db, { connection: { ...settings.connection, lastContactAt: clock.now } });
    expect(await uploadOutbox(deps)).toMatchObject({ accepted: 1, stopped: null });
    expect((await readSettings(db)).uploadRetry).toBeNull();
  });

  it('runs uploads of one database one after the other, so a batch is never in flight twice', async () => {
    const { db, deps, calls, answerWith } = await setup(2);
    let release = () => {};
    answerWith(async (batchId, results) => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return {
        batchId,
        acks: results.map((_, index) => ({ index, assignmentId: String(index + 1), status: 'accepted' as const })),
      };
    });
    const first = uploadOutbox(deps);
    const second = uploadOutbox(deps);
    await vi.waitFor(() => expect(calls).toHaveLength(1));
    release();
    expect(await first).toMatchObject({ accepted: 2 });
    expect(await second).toMatchObject({ batches: 0 });
    expect(calls).toHaveLength(1);
    expect(await db.outbox.count()).toBe(0);
  });

  it('sends no further batch once consent is withdrawn or another server is set during an upload', async () => {
    for (const change of [
      { consent: { given: false, at: 2, version: currentConsentVersion } },
      { serverUrl: 'https://other.example' },
    ]) {
      // 120 results go up in three batches of at most 50.
      const { db, deps, calls, answerWith } = await setup(120);
      answerWith(async (batchId, results) => {
        await writeSettings(db, change);
        return {
          batchId,
          acks: results.map((_, index) => ({
            index,
            assignmentId: String(calls.length * 50 - 49 + index),
            status: 'accepted' as const,
          })),
        };
      });
      expect(await uploadOutbox(deps)).toMatchObject({ batches: 1, accepted: 50, stopped: 'withdrawn' });
      expect(calls).toHaveLength(1);
      // What was not sent stays, to go up if consent is given again.
      expect(await db.outbox.count()).toBe(70);
    }
  });

  it('sets aside a batch answered for another batch id, as an answer that cannot be read, and goes on', async () => {
    const { db, deps, answerWith } = await setup(1);
    answerWith(async () => ({
      batchId: crypto.randomUUID(),
      acks: [{ index: 0, assignmentId: '1', status: 'accepted' }],
    }));
    expect(await uploadOutbox(deps)).toMatchObject({ deadLettered: 1, stopped: null });
    expect(await db.outbox.count()).toBe(0);
    expect(await db.deadLetters.toArray()).toMatchObject([{ code: 'server_rejected', records: [{ kind: 'scrape' }] }]);
  });

  it('sends a gzip body signed as sent, which the server reads and acknowledges', async () => {
    const server = createFakeGleanerServer();
    const account = privateKeyToAccount(generatePrivateKey());
    const api = createApiClient({ serverUrl: server.origin, account, fetch: server.fetch });
    await api.registerDevice({ extensionVersion: '0.1.0', browser: 'chrome' });
    const [job] = server.addJobs([{ url: 'https://example.com/1' }]);
    await api.leaseJobs(1);
    const { db, deps } = await setup(0);
    await storeLeased(
      db,
      {
        assignmentId: job?.assignmentId ?? '',
        jobId: job?.jobId ?? '',
        url: 'https://example.com/1',
        fetchedAt: '2025-06-01T12:00:00.000Z',
        bytesFetched: 0,
        outcome: 'failed',
        error: 'timeout',
        detail: 'slow',
        httpStatus: null,
        retryAfterSeconds: null,
      },
      {
        kind: 'page',
        at: 1,
        url: 'https://example.com/1',
        status: null,
        bytes: 0,
        outcome: 'error',
        reason: null,
        assignmentId: job?.assignmentId ?? '',
        rejection: null,
      },
      1,
    );
    const report = await uploadOutbox({ ...deps, uploadResults: api.uploadResults });
    expect(report).toMatchObject({ accepted: 1 });
    const upload = server.received.find((request) => request.path === '/v1/results');
    expect(upload?.headers['content-encoding']).toBe('gzip');
    expect(upload?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(upload?.body ?? '{}').results).toHaveLength(1);
  });
});

/** A device registered with a fake server that checks signatures and acks like the real one, and an empty outbox. */
async function serverSetup() {
  const clock = { now: Date.parse('2025-06-01T12:00:00Z') };
  const server = createFakeGleanerServer({ now: () => clock.now });
  const account = privateKeyToAccount(generatePrivateKey());
  const api = createApiClient({ serverUrl: server.origin, account, fetch: server.fetch, now: () => clock.now });
  await api.registerDevice({ extensionVersion: '0.1.0', browser: 'chrome' });
  const db = createTestDb();
  await writeSettings(db, { consent: consented, serverUrl: server.origin });
  const deps = {
    db,
    serverUrl: server.origin,
    uploadResults: api.uploadResults,
    now: () => clock.now,
    random: () => 0.5,
    newBatchId: () => crypto.randomUUID(),
  };
  /** Leases `count` jobs, one per site (the server leases at most one per site per call). */
  const lease = async (count: number): Promise<LeasedJob[]> => {
    server.addJobs(Array.from({ length: count }, (_, i) => ({ url: `https://site${i}.example/page` })));
    const jobs: LeasedJob[] = [];
    while (jobs.length < count) jobs.push(...(await api.leaseJobs(count - jobs.length)).jobs);
    return jobs;
  };
  /** Stores a result in the outbox as the scraper would, with its fetch log row. */
  const store = (result: ScrapeResult) =>
    storeLeased(
      db,
      result,
      {
        kind: 'page',
        at: clock.now,
        url: result.url,
        status: 200,
        bytes: 10,
        outcome: 'ok',
        reason: null,
        assignmentId: result.assignmentId,
        rejection: null,
      },
      clock.now,
    );
  const uploads = () => server.received.filter((request) => request.path === '/v1/results');
  return { clock, server, api, db, deps, lease, store, uploads };
}

/** An API client whose every request is answered by `answer` (something in between, not the server: a portal, a proxy). */
function createPortalApi(answer: () => Promise<Response>) {
  const account = privateKeyToAccount(generatePrivateKey());
  return createApiClient({ serverUrl: 'https://gleaner.example.org', account, fetch: answer });
}

async function fetchedPage(job: LeasedJob, text: string, extra: Partial<FetchedPage> = {}): Promise<FetchedPage> {
  return {
    assignmentId: job.assignmentId,
    jobId: job.jobId,
    url: job.url,
    fetchedAt: '2025-06-01T12:00:00.000Z',
    bytesFetched: 10,
    outcome: 'fetched',
    finalUrl: job.url,
    httpStatus: 200,
    contentType: 'text/plain',
    title: '',
    text,
    lang: null,
    canonicalUrl: null,
    links: [],
    textSha256: await textSha256(text),
    ...extra,
  };
}

describe('uploadOutbox against the server’s rules', () => {
  it('cleans a record an older version queued with a NUL and a lone surrogate, and sends the hash of what it sends', async () => {
    const { server, db, deps, lease, store } = await serverSetup();
    const [job] = await lease(1);
    if (!job) throw new Error('no job');
    // As an older version queued it: text uncleaned, hashed uncleaned.
    await store(await fetchedPage(job, 'Col\u0000A\tColB \uD800 end', { title: 'T\u0000' }));
    expect(await uploadOutbox(deps)).toMatchObject({ accepted: 1, rejected: 0, stopped: null });
    expect(server.accepted).toMatchObject([{ text: 'ColA\tColB \uFFFD end', title: 'T' }]);
    const [sent] = server.accepted;
    if (sent?.outcome !== 'fetched') throw new Error('expected a page');
    expect(sent.textSha256).toBe(await textSha256('ColA\tColB \uFFFD end'));
    expect(await db.outbox.count()).toBe(0);
  });

  it('removes every record the server answered, rejected ones with the meaning of their code and the reason', async () => {
    const { db, deps, lease, store } = await serverSetup();
    const [mine, other] = await lease(2);
    if (!mine || !other) throw new Error('no jobs');
    await store(await fetchedPage(mine, 'Fine text.'));
    await store({ ...(await fetchedPage(other, 'Some text.')), textSha256: '0'.repeat(64) });
    await store({ ...(await fetchedPage(other, 'x')), assignmentId: 'a999' });
    expect(await uploadOutbox(deps)).toMatchObject({ accepted: 1, rejected: 2, stopped: null });
    expect(await db.outbox.count()).toBe(0);
    const rejections = (await db.fetchLog.toArray()).map((row) => [row.assignmentId, row.rejection]);
    expect(rejections).toEqual([
      [mine.assignmentId, null],
      [
        other.assignmentId,
        'Its text did not match the fingerprint (SHA-256) sent with it. The server said: textSha256 is not the SHA-256 of the normalized text',
      ],
      [
        'a999',
        'The server had not leased this task to this device, or the lease no longer exists. The server said: assignment a999 is not a lease of this device',
      ],
    ]);
  });

  it('sets a batch refused as malformed (400) aside with the server’s reason, and sends the next one', async () => {
    const { server, db, deps, lease, store, uploads } = await serverSetup();
    const jobs = await lease(3);
    for (const job of jobs) await store(await fetchedPage(job, `Text of ${job.url}`));
    // Two batches: the first holds the first two results.
    await db.outbox.where('seq').anyOf([1, 2]).modify({ batchId: crypto.randomUUID() });
    server.misbehave('/v1/results', {
      status: 400,
      body: { code: 'bad_request', message: 'The body is not valid gzip.' },
    });

    expect(await uploadOutbox(deps)).toMatchObject({ deadLettered: 2, accepted: 1, stopped: null });
    expect(uploads()).toHaveLength(2);
    expect(await db.outbox.count()).toBe(0);
    const [letter] = await db.deadLetters.toArray();
    expect(letter).toMatchObject({ code: 'bad_request', message: 'The body is not valid gzip.' });
    expect(letter?.records.map((record) => (record.payload as ScrapeResult).assignmentId)).toEqual(
      jobs.slice(0, 2).map((job) => job.assignmentId),
    );
    expect((await db.fetchLog.toArray()).map((row) => row.rejection)).toEqual([
      expect.stringContaining('The body is not valid gzip.'),
      expect.stringContaining('The body is not valid gzip.'),
      null,
    ]);
    expect((await readSettings(db)).uploadRetry).toBeNull();
  });

  it('keeps a batch answered by a captive portal’s login page (2xx, not JSON) for a later try', async () => {
    const { db, deps, lease, store, server } = await serverSetup();
    const [job] = await lease(1);
    if (!job) throw new Error('no job');
    await store(await fetchedPage(job, 'Text.'));
    const portal = async () => new Response('<html>Sign in to the hotel Wi-Fi</html>', { status: 200 });
    expect(await uploadOutbox({ ...deps, uploadResults: createPortalApi(portal).uploadResults })).toMatchObject({
      deadLettered: 0,
      stopped: 'failed',
    });
    expect(await db.outbox.count()).toBe(1);
    expect(server.accepted).toEqual([]);
  });

  it('sets aside a single record a proxy refuses as too large (413 without a body of ours), as too large', async () => {
    const { db, deps, lease, store } = await serverSetup();
    const [job] = await lease(1);
    if (!job) throw new Error('no job');
    await store(await fetchedPage(job, 'Text.'));
    const proxy = async () => new Response('<h1>413 Request Entity Too Large</h1>', { status: 413 });
    expect(await uploadOutbox({ ...deps, uploadResults: createPortalApi(proxy).uploadResults })).toMatchObject({
      deadLettered: 1,
    });
    expect(await db.deadLetters.toArray()).toMatchObject([
      { code: 'payload_too_large', message: expect.stringContaining('HTTP 413') },
    ]);
  });

  it('sets aside a batch the server answers with 2xx but no acknowledgement', async () => {
    const { server, db, deps, lease, store } = await serverSetup();
    const [job] = await lease(1);
    if (!job) throw new Error('no job');
    await store(await fetchedPage(job, 'Text.'));
    server.misbehave('/v1/results', { status: 200, body: { ok: true } });
    expect(await uploadOutbox(deps)).toMatchObject({ deadLettered: 1, stopped: null });
    expect(await db.deadLetters.toArray()).toMatchObject([{ code: 'server_rejected' }]);
  });

  it('splits a batch the server finds too large, and sets aside only a single record still too large', async () => {
    const { server, db, deps, lease, store, uploads } = await serverSetup();
    const jobs = await lease(4);
    const sizes = [30_000, 30_000, 150_000, 30_000];
    for (const [index, job] of jobs.entries()) await store(await fetchedPage(job, 'w '.repeat(sizes[index] ?? 0)));
    server.setMaxInflatedBytes(100_000);

    const report = await uploadOutbox(deps);
    expect(report).toMatchObject({ accepted: 3, deadLettered: 1, stopped: null });
    expect(report.split).toBeGreaterThanOrEqual(2);
    expect(await db.outbox.count()).toBe(0);
    const [letter] = await db.deadLetters.toArray();
    expect(letter).toMatchObject({
      code: 'payload_too_large',
      records: [{ payload: { assignmentId: jobs[2]?.assignmentId } }],
    });
    expect(server.accepted.map((result) => result.assignmentId).sort()).toEqual(
      [jobs[0], jobs[1], jobs[3]].map((job) => job?.assignmentId).sort(),
    );
    // Every batch id went up once with its rows: no retry of a batch under another set of rows.
    const ids = uploads().map((request) => JSON.parse(request.body).batchId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('sends one huge record (5 MB of text and 5 MB of kept HTML) alone, well under the 32 MB cap', async () => {
    const { server, deps, lease, store, uploads, db } = await serverSetup();
    const jobs = await lease(3);
    const [before, huge, after] = jobs;
    if (!before || !huge || !after) throw new Error('no jobs');
    await store(await fetchedPage(before, 'small'));
    const text = 'Grüße aus dem Text. '.repeat(250_000).slice(0, 5_000_000);
    const html = `<p class="x">${'<b>bold</b> and "quoted" '.repeat(200_000)}</p>`.slice(0, 5_000_000);
    await store(await fetchedPage(huge, text, { contentType: 'text/html', html }));
    await store(await fetchedPage(after, 'small too'));
    expect(recordBytes((await db.outbox.get(2))?.payload)).toBeGreaterThan(maxBatchBytes);

    const first = await nextBatch(db, deps.newBatchId);
    expect(first?.rows.map((row) => row.seq)).toEqual([1]);
    expect(await uploadOutbox(deps)).toMatchObject({ accepted: 3, deadLettered: 0, split: 0 });
    const bodies = uploads().map((request) => JSON.parse(request.body).results.length);
    expect(bodies).toEqual([1, 1, 1]);
    const biggest = Math.max(...uploads().map((request) => new TextEncoder().encode(request.body).byteLength));
    expect(biggest).toBeGreaterThan(10_000_000);
    expect(biggest).toBeLessThan(16_000_000);
    expect(server.accepted).toHaveLength(3);
  });

  it('waits at least the Retry-After of a 503, even after the server answered other requests', async () => {
    const { server, db, deps, lease, store, clock, uploads } = await serverSetup();
    const [job] = await lease(1);
    if (!job) throw new Error('no job');
    await store(await fetchedPage(job, 'Text.'));
    server.misbehave('/v1/results', {
      status: 503,
      body: { code: 'overloaded', message: 'The server is busy.' },
      headers: { 'retry-after': '120' },
    });
    expect(await uploadOutbox(deps)).toMatchObject({ stopped: 'failed' });
    expect((await readSettings(db)).uploadRetry).toMatchObject({
      failures: 1,
      nextAttemptAt: clock.now + 120_000,
      code: 'overloaded',
    });
    clock.now += 60_000;
    const settings = await readSettings(db);
    await writeSettings(db, { connection: { ...settings.connection, lastContactAt: clock.now } });
    expect(await uploadOutbox(deps)).toMatchObject({ stopped: 'backoff' });
    expect(uploads()).toHaveLength(1);
    clock.now += 60_000;
    expect(await uploadOutbox(deps)).toMatchObject({ accepted: 1, stopped: null });
    expect((await readSettings(db)).uploadRetry).toBeNull();
  });

  it('keeps a 429 batch for later, honouring a Retry-After given as a date', async () => {
    const { server, db, deps, lease, store, clock } = await serverSetup();
    const [job] = await lease(1);
    if (!job) throw new Error('no job');
    await store(await fetchedPage(job, 'Text.'));
    server.misbehave('/v1/results', {
      status: 429,
      body: { code: 'rate_limited', message: 'Slow down.' },
      headers: { 'retry-after': new Date(clock.now + 600_000).toUTCString() },
    });
    await uploadOutbox(deps);
    expect(await db.outbox.count()).toBe(1);
    expect((await readSettings(db)).uploadRetry?.nextAttemptAt).toBe(clock.now + 600_000);
  });

  it('retries 5xx and authentication failures with back-off, keeping the batch and its id', async () => {
    const { server, db, deps, lease, store, clock, uploads } = await serverSetup();
    const [job] = await lease(1);
    if (!job) throw new Error('no job');
    await store(await fetchedPage(job, 'Text.'));
    server.misbehave(
      '/v1/results',
      { status: 500, body: { code: 'internal_error', message: 'Something went wrong.' } },
      { status: 401, body: { code: 'timestamp_stale', message: 'The clock is off.' } },
    );
    await uploadOutbox(deps);
    clock.now += 10_000;
    await uploadOutbox(deps);
    expect(await db.outbox.count()).toBe(1);
    expect(await db.deadLetters.count()).toBe(0);
    expect((await readSettings(db)).uploadRetry).toMatchObject({ failures: 2, code: 'timestamp_stale' });
    clock.now += 60_000;
    expect(await uploadOutbox(deps)).toMatchObject({ accepted: 1 });
    const ids = uploads().map((request) => JSON.parse(request.body).batchId);
    expect(new Set(ids).size).toBe(1);
  });

  it('ends a device_unknown back-off once the server answered again (the heartbeat registers the device)', async () => {
    const { server, db, deps, lease, store, clock } = await serverSetup();
    const [job] = await lease(1);
    if (!job) throw new Error('no job');
    await store(await fetchedPage(job, 'Text.'));
    server.misbehave('/v1/results', { status: 401, body: { code: 'device_unknown', message: 'Who are you?' } });
    await uploadOutbox(deps);
    expect(await uploadOutbox(deps)).toMatchObject({ stopped: 'backoff' });
    clock.now += 100;
    const settings = await readSettings(db);
    await writeSettings(db, { connection: { ...settings.connection, lastContactAt: clock.now } });
    expect(await uploadOutbox(deps)).toMatchObject({ accepted: 1 });
  });
});

describe('uploadFaultOf', () => {
  it('treats 413 as too large, 400 and an unreadable 2xx answer as malformed, anything else as transient', () => {
    const error = (code: ConstructorParameters<typeof BaseError>[0], status?: number) =>
      new BaseError(code, 'x', status === undefined ? {} : { details: { status } });
    expect(uploadFaultOf(error('payload_too_large', 413))).toBe('too_large');
    expect(uploadFaultOf(error('server_rejected', 413))).toBe('too_large');
    expect(uploadFaultOf(error('bad_request', 400))).toBe('malformed');
    expect(uploadFaultOf(new BaseError('server_rejected', 'x', { details: { status: 200, fromServer: true } }))).toBe(
      'malformed',
    );
    for (const transient of [
      error('server_unreachable'),
      error('server_rejected', 502),
      error('internal_error', 500),
      error('overloaded', 503),
      error('rate_limited', 429),
      error('device_unknown', 401),
      // A page from something in between (a captive portal's login page), or a bare 400 from a proxy.
      new BaseError('server_rejected', 'x', { details: { status: 200, fromServer: false } }),
      error('server_rejected', 400),
      error('signature_wrong_server', 401),
      new Error('gzip failed'),
    ]) {
      expect(uploadFaultOf(transient)).toBe('transient');
    }
  });
});
