import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from './database';
import { createPrivateDir, openPgliteDatabase, PgliteConnection } from './pglite-database';

describe('PGlite in a worker thread', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openPgliteDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  it('returns and accepts values as in-thread PGlite does', async () => {
    const [row] = await db.query(
      `select 7::int4 as int4, 9007199254740991::int8 as int8, 1.25::numeric as numeric, 0.5::float8 as float8,
              true as bool, null::text as nothing, '\\x00ff'::bytea as bytea, '{"a":[1]}'::jsonb as jsonb,
              $1::timestamptz as at, $2::text as text, $3::int as param_int, $4::text[] as texts,
              $5::bytea as param_bytea, $6::int as param_null`,
      [new Date('2024-05-06T07:08:09.123Z'), 'é ✓', 42, ['a', null], new Uint8Array([1, 2, 3]), null],
    );
    expect(row).toEqual({
      int4: 7,
      // PGlite parses int8 to a number (the postgres driver gives a string), so shared code casts counts in SQL.
      int8: 9007199254740991,
      numeric: '1.25',
      float8: 0.5,
      bool: true,
      nothing: null,
      bytea: new Uint8Array([0, 255]),
      jsonb: { a: [1] },
      at: new Date('2024-05-06T07:08:09.123Z'),
      text: 'é ✓',
      param_int: 42,
      texts: ['a', null],
      param_bytea: new Uint8Array([1, 2, 3]),
      param_null: null,
    });
    expect(row?.at).toBeInstanceOf(Date);
    expect(row?.bytea).toBeInstanceOf(Uint8Array);
  });

  it('rejects a duplicate key with the PostgreSQL error code and details', async () => {
    await db.exec('create table unique_things (id int primary key)');
    await db.query('insert into unique_things values (1)');
    const error = await db.query('insert into unique_things values (1)').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      code: '23505',
      constraint: 'unique_things_pkey',
      table: 'unique_things',
      message: expect.stringContaining('duplicate key'),
      detail: 'Key (id)=(1) already exists.',
    });
  });

  it('rolls back a transaction whose function throws and rethrows that same error', async () => {
    await db.exec('create table rolled_back (id int)');
    const boom = new Error('boom');
    await expect(
      db.transaction(async (tx) => {
        await tx.query('insert into rolled_back values (1)');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await db.query('select * from rolled_back')).toEqual([]);
  });

  it('rolls back a transaction whose statement fails and reports the statement error', async () => {
    await db.exec('create table half_done (id int primary key)');
    await expect(
      db.transaction(async (tx) => {
        await tx.query('insert into half_done values (1)');
        await tx.query('insert into half_done values (1)');
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await db.query('select * from half_done')).toEqual([]);
  });

  it('makes other callers wait while a transaction is open, then shows them the committed rows', async () => {
    await db.exec('create table waited (id int)');
    const events: string[] = [];
    let opened = () => {};
    const open = new Promise<void>((resolve) => {
      opened = resolve;
    });
    const committed = db.transaction(async (tx) => {
      await tx.query('insert into waited values (1)');
      opened();
      // Give the outside query every chance to overtake the transaction if it could.
      await new Promise((resolve) => setTimeout(resolve, 100));
      await tx.query('insert into waited values (2)');
      events.push('transaction done');
    });
    await open;
    const outside = await db.query('select count(*)::int as n from waited');
    events.push('outside read');
    await committed;
    expect(outside).toEqual([{ n: 2 }]);
    expect(events).toEqual(['transaction done', 'outside read']);
  });

  it('refuses the outer db inside a transaction instead of waiting forever', async () => {
    await expect(db.transaction(() => db.query('select 1'))).rejects.toThrow(/use the tx that fn receives/);
    await expect(db.transaction(() => db.transaction(async () => 1))).rejects.toThrow(/use the tx/);
    expect(await db.query('select 1 as one')).toEqual([{ one: 1 }]);
  });

  it('refuses a tx used after its transaction ended', async () => {
    let kept: Parameters<Parameters<Database['transaction']>[0]>[0] | undefined;
    await db.transaction(async (tx) => {
      kept = tx;
    });
    await expect(kept?.query('select 1')).rejects.toThrow(/Transaction is closed/);
  });

  it('keeps the HTTP thread responsive while a long query runs', async () => {
    // A CPU-bound statement that runs for a fixed 2 s however fast the machine is. In the same thread it
    // would hold every timer back by those 2 s; in the worker, timers stay close to on time.
    let maxLateness = 0;
    let running = true;
    const tick = () => {
      const due = performance.now() + 10;
      setTimeout(() => {
        maxLateness = Math.max(maxLateness, performance.now() - due);
        if (running) tick();
      }, 10);
    };
    tick();
    const started = performance.now();
    await db.exec(
      `do $$ begin while clock_timestamp() < statement_timestamp() + interval '2 seconds' loop end loop; end $$`,
    );
    const took = performance.now() - started;
    running = false;
    // The last tick may still be waiting: let it fire, so a blocked loop is counted, not missed.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(maxLateness).toBeLessThan(200);
  });
});

describe('PGlite data folder', () => {
  let parent: string;
  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), 'gleaner-pglite-'));
  });
  afterAll(async () => {
    await rm(parent, { recursive: true, force: true });
  });

  it('keeps the folder private to its owner and the rows across a reopen', async () => {
    const dataDir = join(parent, 'pglite');
    await mkdir(dataDir, { mode: 0o755 });
    const first = await openPgliteDatabase(dataDir);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    await first.exec('create table kept (id int)');
    await first.transaction((tx) => tx.query('insert into kept values (1)'));
    await first.close();

    const second = await openPgliteDatabase(dataDir);
    expect(await second.query('select id from kept')).toEqual([{ id: 1 }]);
    await second.close();
  }, 90_000);

  it('creates missing folders with mode 0700', async () => {
    const dataDir = join(parent, 'fresh', 'pglite');
    await createPrivateDir(dataDir);
    expect((await stat(join(parent, 'fresh'))).mode & 0o777).toBe(0o700);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
  });
});

describe('PGlite after close', () => {
  it('lets calls made before close finish and rejects every call after it', async () => {
    const db = await openPgliteDatabase();
    const before = db.query('select 1 as one');
    const closed = db.close();
    await expect(db.query('select 1')).rejects.toThrow('PGlite database is closed');
    expect(await before).toEqual([{ one: 1 }]);
    await closed;
    await expect(db.query('select 1')).rejects.toThrow('PGlite database is closed');
    await expect(db.exec('select 1')).rejects.toThrow('PGlite database is closed');
    await expect(db.transaction(async () => 1)).rejects.toThrow('PGlite database is closed');
    await db.close();
  });
});

describe('PGlite worker that dies', () => {
  it('rejects the pending call and every later one instead of hanging', async () => {
    // Stands in for a worker killed mid-query: ready at once, then gone on the first request.
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       parentPort.on('message', () => process.exit(7));
       parentPort.postMessage({ ready: true });`,
      { eval: true },
    );
    const connection = await PgliteConnection.attach(worker);
    await expect(connection.request({ op: 'query', sql: 'select 1', params: [] })).rejects.toThrow(
      /PGlite worker stopped unexpectedly \(exit code 7\)/,
    );
    await expect(connection.request({ op: 'exec', sql: 'select 1' })).rejects.toThrow(/stopped unexpectedly/);
  });

  it('reports a worker that fails during startup', async () => {
    const worker = new Worker(`throw new Error('no wasm here')`, { eval: true });
    await expect(PgliteConnection.attach(worker)).rejects.toThrow(/PGlite could not start: no wasm here/);
  });
});
