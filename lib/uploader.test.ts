import type { ResultBatchAck } from '@protocol/results';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApiClient } from './api-client';
import { storeResult } from './outbox';
import { readSettings, writeSettings } from './settings';
import { createFakeGleanerServer } from './testing/fake-gleaner-server';
import { createTestDb } from './testing/test-db';
import { uploadBackoffMaxMs, uploadBackoffMs, uploadOutbox } from './uploader';

beforeEach(() => {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function setup(count: number) {
  const db = createTestDb();
  for (let i = 1; i <= count; i += 1) {
    await storeResult(
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

  it('treats an answer for another batch as a failure', async () => {
    const { db, deps, answerWith } = await setup(1);
    answerWith(async () => ({
      batchId: crypto.randomUUID(),
      acks: [{ index: 0, assignmentId: '1', status: 'accepted' }],
    }));
    expect(await uploadOutbox(deps)).toMatchObject({ stopped: 'failed' });
    expect(await db.outbox.count()).toBe(1);
  });

  it('sends a gzip body signed as sent, which the server reads and acknowledges', async () => {
    const server = createFakeGleanerServer();
    const account = privateKeyToAccount(generatePrivateKey());
    const api = createApiClient({ serverUrl: server.origin, account, fetch: server.fetch });
    await api.registerDevice({ extensionVersion: '0.1.0', browser: 'chrome' });
    const [job] = server.addJobs([{ url: 'https://example.com/1' }]);
    await api.leaseJobs(1);
    const { db, deps } = await setup(0);
    await storeResult(
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
