import type { ScrapeResult } from '@protocol/results';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { applyAcks, maxBatchBytes, maxBatchResults, nextBatch, storeResult } from './outbox';
import { createTestDb } from './testing/test-db';

function failure(assignmentId: string, detail = 'x'): ScrapeResult {
  return {
    assignmentId,
    jobId: `j${assignmentId}`,
    url: `https://example.com/${assignmentId}`,
    fetchedAt: '2025-06-01T12:00:00.000Z',
    bytesFetched: 0,
    outcome: 'failed',
    error: 'timeout',
    detail,
    httpStatus: null,
    retryAfterSeconds: null,
  };
}

const log = (assignmentId: string) => ({
  at: 1,
  url: `https://example.com/${assignmentId}`,
  status: null,
  bytes: 0,
  outcome: 'error' as const,
  reason: 'timeout: x',
  assignmentId,
  rejection: null,
});

beforeEach(() => {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
});

afterEach(() => {
  vi.restoreAllMocks();
});

let ids = 0;
const newBatchId = () => `batch-${++ids}`;

async function dbWith(count: number, detail = 'x') {
  const db = createTestDb();
  const lease = { keepRawHtml: false, collectLinks: false, maxBytes: 1, timeoutMs: 1, leasedAt: 1, leaseExpiresAt: 2 };
  for (let i = 1; i <= count; i += 1) {
    await db.jobs.add({ ...lease, id: String(i), jobId: `j${i}`, url: 'https://example.com/', state: 'fetching' });
    await storeResult(db, failure(String(i), detail), log(String(i)), i);
  }
  return db;
}

describe('storeResult', () => {
  it('adds the outbox row and the fetch log row and removes the job, together', async () => {
    const db = await dbWith(1);
    expect(await db.jobs.count()).toBe(0);
    expect(await db.outbox.toArray()).toMatchObject([{ kind: 'scrape', batchId: '', payload: { assignmentId: '1' } }]);
    expect(await db.fetchLog.toArray()).toMatchObject([{ assignmentId: '1' }]);
  });

  it('changes nothing when the transaction fails', async () => {
    const db = await dbWith(0);
    const lease = {
      keepRawHtml: false,
      collectLinks: false,
      maxBytes: 1,
      timeoutMs: 1,
      leasedAt: 1,
      leaseExpiresAt: 2,
    };
    await db.jobs.add({ ...lease, id: '1', jobId: 'j1', url: 'https://example.com/', state: 'fetching' });
    vi.spyOn(db.fetchLog, 'add').mockRejectedValueOnce(new Error('disk full'));
    await expect(storeResult(db, failure('1'), log('1'), 1)).rejects.toThrow('disk full');
    expect(await db.jobs.count()).toBe(1);
    expect(await db.outbox.count()).toBe(0);
  });
});

describe('nextBatch', () => {
  it('takes the oldest unsent results under a new batch id stored with them', async () => {
    const db = await dbWith(3);
    const batch = await nextBatch(db, newBatchId);
    expect(batch?.rows.map((row) => row.seq)).toEqual([1, 2, 3]);
    expect((await db.outbox.toArray()).every((row) => row.batchId === batch?.batchId)).toBe(true);
  });

  it('gives a batch that was sent and not acknowledged again, same id, same rows, same order', async () => {
    const db = await dbWith(3);
    const first = await nextBatch(db, newBatchId);
    await storeResult(db, failure('4'), log('4'), 4);
    const again = await nextBatch(db, newBatchId);
    expect(again).toEqual(first);
  });

  it(`holds at most ${maxBatchResults} results`, async () => {
    const db = await dbWith(maxBatchResults + 3);
    expect((await nextBatch(db, newBatchId))?.rows).toHaveLength(maxBatchResults);
  });

  it('keeps a batch to about 2 MB, but always sends at least one result', async () => {
    const big = 'x'.repeat(Math.floor(maxBatchBytes * 0.6));
    const db = await dbWith(3, big);
    expect((await nextBatch(db, newBatchId))?.rows).toHaveLength(1);
    const huge = await dbWith(1, 'y'.repeat(maxBatchBytes * 2));
    expect((await nextBatch(huge, newBatchId))?.rows).toHaveLength(1);
  });

  it('leaves label rows alone and answers null when nothing waits', async () => {
    const db = createTestDb();
    await db.outbox.add({ kind: 'label', createdAt: 1, payload: {}, batchId: '' });
    expect(await nextBatch(db, newBatchId)).toBeNull();
  });
});

describe('applyAcks', () => {
  it('removes accepted, duplicate and rejected rows, keeping the rejection reason in the fetch log', async () => {
    const db = await dbWith(3);
    const batch = await nextBatch(db, newBatchId);
    if (!batch) throw new Error('no batch');
    const summary = await applyAcks(db, batch, {
      batchId: batch.batchId,
      acks: [
        { index: 0, assignmentId: '1', status: 'accepted' },
        { index: 1, assignmentId: '2', status: 'duplicate' },
        { index: 2, assignmentId: '3', status: 'rejected', reason: 'detail: too short' },
      ],
    });
    expect(summary).toEqual({ accepted: 1, duplicate: 1, rejected: 1, unanswered: 0 });
    expect(await db.outbox.count()).toBe(0);
    expect((await db.fetchLog.toArray()).map((row) => row.rejection)).toEqual([null, null, 'detail: too short']);
  });

  it('keeps rows the answer says nothing about, or names another lease for, and sends them in a new batch', async () => {
    const db = await dbWith(3);
    const batch = await nextBatch(db, newBatchId);
    if (!batch) throw new Error('no batch');
    const summary = await applyAcks(db, batch, {
      batchId: batch.batchId,
      acks: [
        { index: 0, assignmentId: '1', status: 'accepted' },
        { index: 1, assignmentId: '99', status: 'accepted' },
      ],
    });
    expect(summary).toMatchObject({ accepted: 1, unanswered: 2 });
    const left = await db.outbox.toArray();
    expect(left.map((row) => [row.seq, row.batchId])).toEqual([
      [2, ''],
      [3, ''],
    ]);
    expect((await nextBatch(db, newBatchId))?.batchId).not.toBe(batch.batchId);
  });
});
