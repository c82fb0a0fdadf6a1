import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/database';
import { openPostgresDatabase } from '../db/postgres-database';
import { describeEachDatabase, postgresTestUrl } from '../test/databases';
import { enqueue, retryDelayMs, startWorkQueue, type WorkHandler, WorkInterrupted, type WorkQueue } from './work-queue';

const quiet = { info() {}, warn() {}, error() {} };

interface ItemRow {
  id: string;
  key: string;
  state: string;
  attempts: number;
  last_error: string | null;
  run_in_ms: number;
  finished_at: Date | null;
}

describe('retry back-off', () => {
  it('doubles from the base up to the cap, jittered to between half and all of it', () => {
    expect(retryDelayMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(retryDelayMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(retryDelayMs(3, 1000, 60_000, () => 1)).toBe(4000);
    expect(retryDelayMs(3, 1000, 60_000, () => 0)).toBe(2000);
    expect(retryDelayMs(30, 1000, 60_000, () => 1)).toBe(60_000);
  });
});

describeEachDatabase('durable work queue', (database, kind) => {
  /** A second connection pool on the same database, as another server process has (PGlite has one connection). */
  let other: Database;
  const started: WorkQueue[] = [];
  beforeAll(async () => {
    if (kind === 'pglite') {
      other = database();
      return;
    }
    const schema = (await database().query<{ schema: string }>('select current_schema() as schema'))[0]?.schema;
    other = await openPostgresDatabase(postgresTestUrl, { schema, maxConnections: 4 });
  });
  afterAll(async () => {
    await Promise.all(started.map((queue) => queue.close()));
    if (other !== database()) await other.close();
  });

  const start = (
    db: Database,
    handlers: Record<string, WorkHandler>,
    options: Partial<Parameters<typeof startWorkQueue>[2]> = {},
  ) => {
    const queue = startWorkQueue(db, handlers, { pollMs: 0, concurrency: 4, leaseMs: 30_000, log: quiet, ...options });
    started.push(queue);
    return queue;
  };
  const items = (workKind: string) =>
    database().query<ItemRow>(
      `select id::text as id, key, state, attempts, last_error, finished_at,
              (extract(epoch from run_at - now()) * 1000)::int as run_in_ms
         from work_items where kind = $1 order by id`,
      [workKind],
    );

  it('coalesces work enqueued twice into one queued item, and rolls back with its transaction', async () => {
    for (let n = 0; n < 50; n += 1) {
      await database().transaction((tx) => enqueue(tx, 'coalesce', 'project-1', { n }));
    }
    await expect(
      database().transaction(async (tx) => {
        await enqueue(tx, 'coalesce', 'project-2');
        throw new Error('the upload failed');
      }),
    ).rejects.toThrow('the upload failed');
    const rows = await items('coalesce');
    expect(rows.map((row) => [row.key, row.state])).toEqual([['project-1', 'queued']]);
    const payload = await database().query<{ payload: string }>(
      `select payload::text as payload from work_items where kind = 'coalesce'`,
    );
    expect(JSON.parse(payload[0]?.payload ?? '')).toEqual({ n: 0 });

    // The earlier due time wins.
    await database().transaction((tx) => enqueue(tx, 'coalesce', 'later', null, { delayMs: 3_600_000 }));
    expect((await items('coalesce')).find((row) => row.key === 'later')?.run_in_ms).toBeGreaterThan(3_500_000);
    await database().transaction((tx) => enqueue(tx, 'coalesce', 'later'));
    await database().transaction((tx) => enqueue(tx, 'coalesce', 'later', null, { delayMs: 3_600_000 }));
    expect((await items('coalesce')).find((row) => row.key === 'later')?.run_in_ms).toBeLessThan(1000);
  });

  it('queues work enqueued while the same work runs, and runs it only after', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const runs: Array<{ n: number; start: number; end: number }> = [];
    const queue = start(database(), {
      serial: async (payload) => {
        const n = (payload as { n: number }).n;
        const startedAt = performance.now();
        if (n === 1) await gate;
        runs.push({ n, start: startedAt, end: performance.now() });
      },
    });
    await database().transaction((tx) => enqueue(tx, 'serial', 'project', { n: 1 }));
    queue.kick();
    await expect.poll(async () => (await items('serial')).map((row) => row.state)).toEqual(['running']);
    await database().transaction((tx) => enqueue(tx, 'serial', 'project', { n: 2 }));
    queue.kick();
    await sleep(100);
    expect((await items('serial')).map((row) => row.state)).toEqual(['running', 'queued']);
    release();
    await queue.drain();
    expect((await items('serial')).map((row) => row.state)).toEqual(['done', 'done']);
    expect(runs.map((run) => run.n)).toEqual([1, 2]);
    expect(runs[1]?.start).toBeGreaterThanOrEqual(runs[0]?.end ?? Number.POSITIVE_INFINITY);
  });

  it('never runs one item twice, nor two items of one key at once, with two workers claiming', async () => {
    const runs = new Map<string, number>();
    const active = new Set<string>();
    const overlaps: string[] = [];
    let chained = 0;
    const handler: WorkHandler = async (payload, { item, db }) => {
      runs.set(item.id, (runs.get(item.id) ?? 0) + 1);
      if (active.has(item.key)) overlaps.push(item.key);
      active.add(item.key);
      await sleep(1 + Math.floor(Math.random() * 4));
      // One key keeps enqueueing itself while it runs: its next item must wait for this one.
      if (item.key === 'chain' && chained < 20) {
        chained += 1;
        await db.transaction((tx) => enqueue(tx, 'shared', 'chain', payload));
      }
      active.delete(item.key);
    };
    const first = start(database(), { shared: handler }, { pollMs: 5 });
    const second = start(other, { shared: handler }, { pollMs: 5 });
    await database().transaction(async (tx) => {
      for (let n = 0; n < 80; n += 1) await enqueue(tx, 'shared', `key-${n}`, { n });
      await enqueue(tx, 'shared', 'chain', {});
    });
    first.kick();
    second.kick();
    for (;;) {
      await Promise.all([first.drain(), second.drain()]);
      const left = await database().query<{ n: number }>(
        `select count(*)::int as n from work_items where kind = 'shared' and state <> 'done'`,
      );
      if (left[0]?.n === 0) break;
      await sleep(10);
    }
    const rows = await items('shared');
    expect(rows).toHaveLength(81 + 20);
    expect(rows.every((row) => row.attempts === 1)).toBe(true);
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    expect(runs.size).toBe(rows.length);
    expect(overlaps).toEqual([]);
  });

  it('retries a failing handler with back-off, then leaves it failed with its last error', async () => {
    let attempt = 0;
    const queue = start(
      database(),
      {
        flaky: async () => {
          attempt += 1;
          throw new Error(`boom ${attempt}`);
        },
      },
      { retryBaseMs: 60_000, retryMaxMs: 3_600_000 },
    );
    await database().transaction((tx) => enqueue(tx, 'flaky', 'x', null, { maxAttempts: 3 }));
    await queue.drain();
    let [row] = await items('flaky');
    expect(row).toMatchObject({ state: 'queued', attempts: 1, last_error: 'boom 1' });
    // Due between half and all of the base delay from now: drain does not wait for it.
    expect(row?.run_in_ms).toBeGreaterThan(25_000);
    expect(row?.run_in_ms).toBeLessThanOrEqual(60_000);
    // Work enqueued again meanwhile does not cut the back-off short.
    await database().transaction((tx) => enqueue(tx, 'flaky', 'x'));
    expect((await items('flaky'))[0]?.run_in_ms).toBeGreaterThan(25_000);

    await database().query(`update work_items set run_at = now() where kind = 'flaky'`);
    await queue.drain();
    [row] = await items('flaky');
    expect(row).toMatchObject({ state: 'queued', attempts: 2, last_error: 'boom 2' });
    expect(row?.run_in_ms).toBeGreaterThan(55_000);
    expect(row?.run_in_ms).toBeLessThanOrEqual(120_000);

    await database().query(`update work_items set run_at = now() where kind = 'flaky'`);
    await queue.drain();
    [row] = await items('flaky');
    expect(row).toMatchObject({ state: 'failed', attempts: 3, last_error: 'boom 3' });
    expect(row?.finished_at).toBeInstanceOf(Date);
    expect(attempt).toBe(3);
  });

  it('takes over an item whose worker died once its lease ran out, and fails one out of attempts', async () => {
    await database().transaction(async (tx) => {
      await enqueue(tx, 'orphan', 'expired');
      await enqueue(tx, 'orphan', 'held');
      await enqueue(tx, 'orphan', 'exhausted', null, { maxAttempts: 2 });
    });
    // Three items claimed by a process that then died: two leases ran out, one has time left.
    await database().query(
      `update work_items set state = 'running', attempts = case when key = 'exhausted' then 2 else 1 end,
              locked_by = 'dead-host:4242:0000',
              locked_until = now() + case when key = 'held' then interval '1 hour' else interval '-1 second' end
        where kind = 'orphan'`,
    );
    const ran: string[] = [];
    const queue = start(database(), {
      orphan: async (_payload, { item }) => {
        ran.push(item.key);
      },
    });
    await queue.drain();
    expect(ran).toEqual(['expired']);
    const rows = await items('orphan');
    expect(rows.find((row) => row.key === 'expired')).toMatchObject({ state: 'done', attempts: 2 });
    expect(rows.find((row) => row.key === 'expired')?.last_error).toMatch(/dead-host:4242.*lease ran out/);
    expect(rows.find((row) => row.key === 'held')).toMatchObject({ state: 'running', attempts: 1 });
    expect(rows.find((row) => row.key === 'exhausted')).toMatchObject({ state: 'failed', attempts: 2 });
    expect(rows.find((row) => row.key === 'exhausted')?.last_error).toMatch(/dead-host:4242.*last attempt/);
  });

  it('renews the lease of a long-running item, so no other worker takes it over', async () => {
    let runs = 0;
    const slow: WorkHandler = async () => {
      runs += 1;
      await sleep(900);
    };
    const first = start(database(), { slow }, { leaseMs: 300 });
    const second = start(other, { slow }, { leaseMs: 300, pollMs: 20 });
    await database().transaction((tx) => enqueue(tx, 'slow', 'one'));
    first.kick();
    await expect.poll(async () => (await items('slow'))[0]?.state).toBe('running');
    await first.drain();
    await second.drain();
    expect(runs).toBe(1);
    expect((await items('slow'))[0]).toMatchObject({ state: 'done', attempts: 1 });
  });

  it('gives an interrupted item its attempt back and runs it again at once, even on its last attempt', async () => {
    let runs = 0;
    const queue = start(database(), {
      interrupted: async () => {
        runs += 1;
        if (runs === 1) throw new WorkInterrupted('the aggregation threads closed');
      },
    });
    await database().transaction((tx) => enqueue(tx, 'interrupted', 'one', null, { maxAttempts: 1 }));
    await queue.drain();
    // Counted as a failure it would be `failed` now, its one attempt spent, and never run again.
    expect(runs).toBe(2);
    expect(await items('interrupted')).toEqual([
      expect.objectContaining({ state: 'done', attempts: 1, last_error: 'the aggregation threads closed' }),
    ]);
  });

  it('waits for running items when it closes', async () => {
    let finished = false;
    const queue = start(database(), {
      closing: async () => {
        await sleep(200);
        finished = true;
      },
    });
    await database().transaction((tx) => enqueue(tx, 'closing', 'one'));
    queue.kick();
    await expect.poll(async () => (await items('closing'))[0]?.state).toBe('running');
    await queue.close();
    expect(finished).toBe(true);
    expect((await items('closing'))[0]?.state).toBe('done');
  });
});
