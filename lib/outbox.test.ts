import type { ScrapeResult } from '@protocol/results';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deleteLocalData } from './history-delete';
import {
  applyAcks,
  type LabelRecord,
  maxBatchBytes,
  maxBatchResults,
  moveToDeadLetters,
  nextBatch,
  recordBytes,
  splitBatch,
  storeLabel,
  storeResult,
} from './outbox';
import { readSettings } from './settings';
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
  kind: 'page' as const,
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

const lease = { keepRawHtml: false, collectLinks: false, maxBytes: 1, timeoutMs: 1, leasedAt: 1, leaseExpiresAt: 2 };
const addJob = (db: ReturnType<typeof createTestDb>, id: string) =>
  db.jobs.add({ ...lease, id, jobId: `j${id}`, url: 'https://example.com/', state: 'fetching' });

async function dbWith(count: number, detail = 'x') {
  const db = createTestDb();
  for (let i = 1; i <= count; i += 1) {
    await addJob(db, String(i));
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

  it('logs nothing for a job deleted with the local data while it was being fetched', async () => {
    const db = await dbWith(0);
    await addJob(db, '1');
    await deleteLocalData(db, { resetDevice: false });
    await storeResult(db, failure('1'), log('1'), 1);
    expect(await db.fetchLog.count()).toBe(0);
    expect(await db.outbox.count()).toBe(0);
  });

  it('changes nothing when the transaction fails', async () => {
    const db = await dbWith(0);
    await addJob(db, '1');
    vi.spyOn(db.fetchLog, 'add').mockRejectedValueOnce(new Error('disk full'));
    await expect(storeResult(db, failure('1'), log('1'), 1)).rejects.toThrow('disk full');
    expect(await db.jobs.count()).toBe(1);
    expect(await db.outbox.count()).toBe(0);
  });
});

const queued = (assignmentId: string) => ({
  assignmentId,
  leasedAt: 1,
  expiresAt: 900_000,
  task: {
    assignmentId,
    projectId: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
    projectName: 'Reviews',
    instructions: 'Positive or negative?',
    labelSchema: { type: 'single_choice' as const, choices: ['positive', 'negative'] },
    content: { type: 'text' as const, text: 'Great.' },
    expiresAt: '2025-06-01T12:15:00.000Z',
  },
});

const label = (assignmentId: string): LabelRecord => ({
  kind: 'label',
  assignmentId,
  labeledAt: '2025-06-01T12:01:00.000Z',
  skipped: false,
  answer: { type: 'single_choice', choice: 'positive' },
});

describe('storeLabel', () => {
  it('adds the label to the outbox and takes its task off the queue, together', async () => {
    const db = createTestDb();
    await db.tasks.bulkAdd([queued('7'), queued('8')]);
    await storeLabel(db, label('7'), 5);
    expect(await db.outbox.toArray()).toEqual([
      { seq: 1, kind: 'label', createdAt: 5, batchId: '', payload: label('7'), holdUntil: 5, task: queued('7').task },
    ]);
    expect(await db.tasks.toCollection().primaryKeys()).toEqual(['8']);
  });

  it('refuses a task that is no longer queued, storing nothing', async () => {
    const db = createTestDb();
    await expect(storeLabel(db, label('7'), 5)).rejects.toMatchObject({ code: 'not_found' });
    expect(await db.outbox.count()).toBe(0);
  });

  it('keeps the task when the outbox write fails', async () => {
    const db = createTestDb();
    await db.tasks.add(queued('7'));
    vi.spyOn(db.outbox, 'add').mockRejectedValueOnce(new Error('disk full'));
    await expect(storeLabel(db, label('7'), 5)).rejects.toThrow('disk full');
    expect(await db.tasks.count()).toBe(1);
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
    await addJob(db, '4');
    await storeResult(db, failure('4'), log('4'), 4);
    const again = await nextBatch(db, newBatchId);
    expect(again).toEqual(first);
  });

  it('leaves a label within its undo window for a later batch, and takes it once the window has passed', async () => {
    const db = await dbWith(1);
    await db.tasks.add(queued('7'));
    await storeLabel(db, label('7'), 10, 100);
    expect((await nextBatch(db, newBatchId, 99))?.rows.map((row) => row.kind)).toEqual(['scrape']);
    await db.outbox.where('kind').equals('scrape').delete();
    expect(await nextBatch(db, newBatchId, 99)).toBeNull();
    expect((await nextBatch(db, newBatchId, 100))?.rows.map((row) => row.kind)).toEqual(['label']);
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

  it('counts a record’s size in UTF-8 bytes, as it travels', async () => {
    expect(recordBytes('aé😀')).toBe(JSON.stringify('aé😀').length + 1 + 2);
    // 0.4 MB of characters, 1.2 MB of UTF-8 each: two do not fit in one batch.
    const db = await dbWith(3, '€'.repeat(Math.floor(maxBatchBytes * 0.2)));
    expect((await nextBatch(db, newBatchId))?.rows).toHaveLength(1);
  });

  it('sends labels in the same batches as scrape results, oldest first', async () => {
    const db = await dbWith(1);
    await db.tasks.add(queued('7'));
    await storeLabel(db, label('7'), 2);
    await addJob(db, '3');
    await storeResult(db, failure('3'), log('3'), 3);
    const batch = await nextBatch(db, newBatchId);
    expect(batch?.rows.map((row) => [row.kind, (row.payload as { assignmentId: string }).assignmentId])).toEqual([
      ['scrape', '1'],
      ['label', '7'],
      ['scrape', '3'],
    ]);
  });

  it('answers null when nothing waits', async () => {
    expect(await nextBatch(createTestDb(), newBatchId)).toBeNull();
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

  it('keeps the meaning of a rejection’s code with the server’s reason', async () => {
    const db = await dbWith(2);
    const batch = await nextBatch(db, newBatchId);
    if (!batch) throw new Error('no batch');
    await applyAcks(db, batch, {
      batchId: batch.batchId,
      acks: [
        { index: 0, assignmentId: '1', status: 'rejected', code: 'invalid_text', reason: 'results.0.text holds a NUL' },
        { index: 1, assignmentId: '2', status: 'rejected', code: 'outside_lease' },
      ],
    });
    expect((await db.fetchLog.toArray()).map((row) => row.rejection)).toEqual([
      'Its text held a character the server does not accept (a NUL or a broken character). The server said: results.0.text holds a NUL',
      'It arrived outside the time its lease allowed (too late, or this computer’s clock is off).',
    ]);
  });

  it('keeps the reason for a refused label with the refused labels, never on a fetch log row of the same id', async () => {
    const db = await dbWith(1);
    await db.tasks.add(queued('1'));
    await storeLabel(db, label('1'), 2);
    const batch = await nextBatch(db, newBatchId);
    if (!batch) throw new Error('no batch');
    await applyAcks(
      db,
      batch,
      {
        batchId: batch.batchId,
        acks: [
          { index: 0, assignmentId: '1', status: 'accepted' },
          { index: 1, assignmentId: '1', status: 'rejected', reason: 'task 1 is not a lease of this device' },
        ],
      },
      () => 42,
    );
    expect(await db.outbox.count()).toBe(0);
    expect((await db.fetchLog.toArray()).map((row) => row.rejection)).toEqual([null]);
    expect((await readSettings(db)).labelRejections).toEqual([
      { assignmentId: '1', reason: 'task 1 is not a lease of this device', at: 42 },
    ]);
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

describe('moveToDeadLetters', () => {
  it('moves a batch’s records out of the outbox with the server’s reason, and says why on each record', async () => {
    const db = await dbWith(2);
    await db.tasks.add(queued('7'));
    await storeLabel(db, label('7'), 3);
    await addJob(db, '4');
    await storeResult(db, failure('4'), log('4'), 4);
    const batch = await nextBatch(db, newBatchId);
    if (!batch) throw new Error('no batch');
    const sent = { ...batch, rows: batch.rows.slice(0, 3) };
    await db.outbox.where('seq').equals(4).modify({ batchId: '' });
    await moveToDeadLetters(db, sent, { code: 'bad_request', message: 'The body is not JSON.' }, 99);

    expect((await db.outbox.toArray()).map((row) => row.seq)).toEqual([4]);
    expect(await db.deadLetters.toArray()).toEqual([
      {
        id: 1,
        at: 99,
        batchId: batch.batchId,
        code: 'bad_request',
        message: 'The body is not JSON.',
        records: sent.rows.map(({ kind, createdAt, payload }) => ({ kind, createdAt, payload })),
      },
    ]);
    const why = 'The server refused the whole upload this was in, so it was set aside: The body is not JSON.';
    expect((await db.fetchLog.toArray()).map((row) => row.rejection)).toEqual([why, why, null]);
    expect((await readSettings(db)).labelRejections).toEqual([{ assignmentId: '7', reason: why, at: 99 }]);
  });
});

describe('a batch under way when the person deletes their local data', () => {
  async function sentThenDeleted() {
    const db = await dbWith(1);
    await db.tasks.add(queued('7'));
    await storeLabel(db, label('7'), 3);
    const batch = await nextBatch(db, newBatchId);
    if (!batch) throw new Error('no batch');
    await deleteLocalData(db, { resetDevice: false });
    return { db, batch };
  }

  it('brings none of its records back as dead letters when the server refuses it', async () => {
    const { db, batch } = await sentThenDeleted();
    await moveToDeadLetters(db, batch, { code: 'bad_request', message: 'The body is not JSON.' }, 99);
    expect(await db.deadLetters.count()).toBe(0);
    expect(await db.outbox.count()).toBe(0);
    expect((await readSettings(db)).labelRejections).toEqual([]);
  });

  it('brings back no refusal reason when the server rejects its label', async () => {
    const { db, batch } = await sentThenDeleted();
    await applyAcks(db, batch, {
      batchId: batch.batchId,
      acks: [
        { index: 0, assignmentId: '1', status: 'accepted' },
        { index: 1, assignmentId: '7', status: 'rejected', code: 'outside_lease', reason: 'The lease ran out.' },
      ],
    });
    const settings = await readSettings(db);
    expect(settings.labelRejections).toEqual([]);
    expect(settings.recentLabels).toEqual([]);
    expect(await db.outbox.count()).toBe(0);
  });
});

describe('splitBatch', () => {
  it('sends the halves of a batch under two new ids, every row in one of them', async () => {
    const db = await dbWith(5);
    const batch = await nextBatch(db, newBatchId);
    if (!batch) throw new Error('no batch');
    await splitBatch(db, batch, newBatchId);
    const first = await nextBatch(db, newBatchId);
    if (!first) throw new Error('no first half');
    expect(first.batchId).not.toBe(batch.batchId);
    const ids = new Map((await db.outbox.toArray()).map((row) => [row.seq, row.batchId]));
    expect(new Set(ids.values()).size).toBe(2);
    expect([ids.get(1), ids.get(2), ids.get(3)].every((id) => id === ids.get(1))).toBe(true);
    expect(ids.get(4)).toBe(ids.get(5));
    expect(ids.get(4)).not.toBe(ids.get(1));
    expect([...ids.values()]).not.toContain(batch.batchId);
  });
});
