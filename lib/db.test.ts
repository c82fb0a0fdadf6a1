import Dexie from 'dexie';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  dbVersions,
  declareDbVersions,
  GleanerDb,
  latestDbVersion,
  rowSchemas,
  type TableName,
  type TaskRow,
} from './db';
import { type DbExample, dbExamples } from './db-examples';
import { defaultSettings, parseSettings, readSettings, settingSchemas, writeSettings } from './settings';
import { createTestDb } from './testing/test-db';

const tableNames = Object.keys(rowSchemas) as TableName[];
const openDbs: Dexie[] = [];

function track<T extends Dexie>(db: T): T {
  openDbs.push(db);
  return db;
}

afterEach(() => {
  for (const db of openDbs.splice(0)) db.close();
  vi.restoreAllMocks();
});

/** Reads every row of every current table and checks it strictly against the current schemas. */
async function readAllValidated(db: GleanerDb): Promise<Record<TableName, unknown[]>> {
  const result = {} as Record<TableName, unknown[]>;
  for (const name of tableNames) {
    const rows = await db.table(name).toArray();
    result[name] = rows.map((row) => rowSchemas[name].parse(row));
  }
  for (const row of result.settings as { key: string; value: unknown }[]) {
    if (!(row.key in settingSchemas)) throw new Error(`settings holds an unknown key "${row.key}"`);
    settingSchemas[row.key as keyof typeof settingSchemas].parse(row.value);
  }
  return result;
}

/**
 * The upgrade harness: stores an example as its own schema version stored it, then opens the
 * same IndexedDB with the current class (running every upgrade in between) and returns the rows,
 * each validated against the current schemas.
 */
async function upgradeExample(example: DbExample): Promise<{ db: GleanerDb; rows: Record<TableName, unknown[]> }> {
  const indexedDB = new IDBFactory();
  const old = new Dexie('gleaner', { indexedDB, IDBKeyRange });
  declareDbVersions(old, example.version);
  await old.open();
  for (const [name, rows] of Object.entries(example.tables)) await old.table(name).bulkAdd([...rows]);
  old.close();

  const db = track(new GleanerDb({ indexedDB, IDBKeyRange }));
  await db.open();
  return { db, rows: await readAllValidated(db) };
}

describe('GleanerDb', () => {
  it('opens a fresh database at the latest version with every table', async () => {
    const db = track(createTestDb());
    await db.open();
    expect(db.verno).toBe(latestDbVersion);
    expect(db.tables.map((table) => table.name).sort()).toEqual([...tableNames].sort());
    expect(await db.settings.count()).toBe(0);
  });

  it('gives each test database its own storage', async () => {
    const a = track(createTestDb());
    const b = track(createTestDb());
    await writeSettings(a, { dailyBudgetBytes: 5_000_000 });
    expect((await readSettings(b)).dailyBudgetBytes).toBe(defaultSettings.dailyBudgetBytes);
  });

  it('stores and reads back a row of every table unchanged and valid', async () => {
    const db = track(createTestDb());
    const example = dbExamples.find((entry) => entry.version === latestDbVersion);
    if (!example) throw new Error('no example data for the latest version');
    for (const name of tableNames) await db.table(name).bulkAdd([...(example.tables[name] ?? [])]);
    const rows = await readAllValidated(db);
    for (const name of tableNames) {
      // Rows come back in primary-key order, not insertion order.
      expect(rows[name]).toHaveLength(example.tables[name]?.length ?? 0);
      expect(rows[name]).toEqual(expect.arrayContaining([...(example.tables[name] ?? [])]));
    }
  });

  it('numbers outbox and fetch log rows itself', async () => {
    const db = track(createTestDb());
    const first = await db.outbox.add({ kind: 'scrape', createdAt: 1, payload: {}, batchId: '' });
    const second = await db.outbox.add({ kind: 'label', createdAt: 2, payload: { a: 1 }, batchId: '' });
    expect(second).toBeGreaterThan(first);
    const logId = await db.fetchLog.add({
      kind: 'page',
      at: 3,
      url: 'https://example.com/',
      status: 200,
      bytes: 10,
      outcome: 'ok',
      reason: null,
      assignmentId: null,
      rejection: null,
    });
    expect(rowSchemas.fetchLog.parse(await db.fetchLog.get(logId)).id).toBe(logId);
  });

  it('finds jobs by state', async () => {
    const db = track(createTestDb());
    const lease = { jobId: 'j', keepRawHtml: false, collectLinks: false, maxBytes: 1, timeoutMs: 1, leasedAt: 1 };
    await db.jobs.bulkAdd([
      { ...lease, id: 'a', url: 'https://example.com/a', state: 'leased', leaseExpiresAt: 2 },
      { ...lease, id: 'b', url: 'https://example.com/b', state: 'done', leaseExpiresAt: 2 },
    ]);
    expect((await db.jobs.where('state').equals('leased').toArray()).map((job) => job.id)).toEqual(['a']);
  });

  it('finds queued tasks by expiry', async () => {
    const db = track(createTestDb());
    const example = dbExamples.find((entry) => entry.version === 3);
    const [first] = (example?.tables.tasks ?? []) as TaskRow[];
    if (!first) throw new Error('no example task');
    await db.tasks.bulkAdd([
      { ...first, assignmentId: 'old', expiresAt: 100 },
      { ...first, assignmentId: 'new', expiresAt: 200 },
    ]);
    expect(await db.tasks.where('expiresAt').belowOrEqual(150).primaryKeys()).toEqual(['old']);
  });

  it('declares its versions in order, starting at 1, without gaps', () => {
    expect(dbVersions.map((entry) => entry.version)).toEqual(dbVersions.map((_, index) => index + 1));
  });
});

describe('settings rows', () => {
  it('reads defaults when nothing is stored', async () => {
    expect(await readSettings(track(createTestDb()))).toEqual(defaultSettings);
  });

  it('falls back to the default for a stored value that no longer validates', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const db = track(createTestDb());
    await db.settings.bulkPut([
      { key: 'dailyBudgetBytes', value: 'lots' },
      { key: 'serverUrl', value: 'https://gleaner.example.org' },
    ]);
    const settings = await readSettings(db);
    expect(settings.dailyBudgetBytes).toBe(defaultSettings.dailyBudgetBytes);
    expect(settings.serverUrl).toBe('https://gleaner.example.org');
  });

  it('refuses to store an invalid value', async () => {
    const db = track(createTestDb());
    await expect(writeSettings(db, { serverUrl: 'ftp://example.org' })).rejects.toThrow(/http:\/\/ or https:\/\//);
    expect(await db.settings.count()).toBe(0);
  });

  it('ignores rows of settings it does not know', () => {
    expect(parseSettings([{ key: 'retired', value: 1 }])).toEqual(defaultSettings);
  });
});

describe('upgrades from saved example data', () => {
  it('has saved example data for every schema version, covering every table of its version', () => {
    expect(dbExamples.map((example) => example.version)).toEqual(dbVersions.map((entry) => entry.version));
    for (const example of dbExamples) {
      const stores = new Map<string, string | null>();
      for (const entry of dbVersions)
        if (entry.version <= example.version) for (const [k, v] of Object.entries(entry.stores)) stores.set(k, v);
      const tables = [...stores].filter(([, spec]) => spec !== null).map(([name]) => name);
      expect(Object.keys(example.tables).sort()).toEqual(tables.sort());
      for (const name of tables) expect(example.tables[name]?.length).toBeGreaterThan(0);
    }
  });

  for (const example of dbExamples) {
    it(`opens a version ${example.version} database with the current class and keeps every row valid`, async () => {
      const { db, rows } = await upgradeExample(example);
      expect(db.verno).toBe(latestDbVersion);
      for (const name of tableNames) expect(rows[name].length).toBe(example.tables[name]?.length ?? 0);
      // Every stored setting is read as stored, none replaced by its default.
      const settings: Record<string, unknown> = await readSettings(db);
      for (const row of rows.settings as { key: string; value: unknown }[])
        expect(settings[row.key]).toEqual(row.value);
    });
  }

  it('gives version 1 jobs, outbox and fetch log rows neutral values for the version 2 fields', async () => {
    const v1 = dbExamples.find((example) => example.version === 1);
    if (!v1) throw new Error('no version 1 example');
    const { rows } = await upgradeExample(v1);
    expect(rows.jobs[0]).toMatchObject({ id: 'job-1', jobId: 'job-1', keepRawHtml: false, collectLinks: false });
    expect(rows.outbox.map((row) => (row as { batchId: string }).batchId)).toEqual(['', '']);
    expect(rows.fetchLog[0]).toMatchObject({ reason: null, assignmentId: null, rejection: null });
  });

  it('gives version 1 and 2 databases an empty task queue and leaves their outbox rows as they were', async () => {
    for (const version of [1, 2]) {
      const example = dbExamples.find((entry) => entry.version === version);
      if (!example) throw new Error(`no version ${version} example`);
      const { rows } = await upgradeExample(example);
      expect(rows.tasks).toEqual([]);
      expect(rows.outbox.map((row) => (row as { payload: unknown }).payload)).toEqual(
        (example.tables.outbox ?? []).map((row) => (row as { payload: unknown }).payload),
      );
    }
  });

  it('marks every fetch log row of versions 1 to 3 as a page and gives them no dead letters', async () => {
    for (const version of [1, 2, 3]) {
      const example = dbExamples.find((entry) => entry.version === version);
      if (!example) throw new Error(`no version ${version} example`);
      const { rows } = await upgradeExample(example);
      expect(rows.fetchLog.length).toBeGreaterThan(0);
      expect(rows.fetchLog.map((row) => (row as { kind: string }).kind)).toEqual(rows.fetchLog.map(() => 'page'));
      expect(rows.deadLetters).toEqual([]);
      expect(rows.outbox).toHaveLength(example.tables.outbox?.length ?? 0);
    }
  });

  it('keeps the images a version 4 fetch log lists and the dead letters it holds', async () => {
    const v4 = dbExamples.find((example) => example.version === 4);
    if (!v4) throw new Error('no version 4 example');
    const { rows } = await upgradeExample(v4);
    expect(rows.fetchLog.map((row) => (row as { kind: string }).kind)).toEqual(['page', 'page', 'image']);
    expect(rows.deadLetters).toEqual(v4.tables.deadLetters);
  });

  it('reports a dead letter without records', async () => {
    const broken: DbExample = {
      version: 4,
      tables: { deadLetters: [{ id: 1, at: 1, batchId: 'b', code: 'bad_request', message: 'x', records: [] }] },
    };
    await expect(upgradeExample(broken)).rejects.toThrow(/records/);
  });

  it('reports a queued task that the current schemas reject', async () => {
    const v3 = dbExamples.find((example) => example.version === 3);
    const [task] = (v3?.tables.tasks ?? []) as { task: Record<string, unknown> }[];
    const broken: DbExample = {
      version: 3,
      tables: { tasks: [{ ...task, task: { ...task?.task, labelSchema: { type: 'ranking' } } }] },
    };
    await expect(upgradeExample(broken)).rejects.toThrow(/labelSchema/);
  });

  it('reports example rows that the current schemas reject', async () => {
    const broken: DbExample = {
      version: 1,
      tables: {
        jobs: [{ id: 'x', url: 'https://example.com/', state: 'vanished', leasedAt: 1, leaseExpiresAt: 2 }],
      },
    };
    await expect(upgradeExample(broken)).rejects.toThrow(/state/);
  });

  it('reports a settings value that the current schemas reject', async () => {
    const broken: DbExample = { version: 1, tables: { settings: [{ key: 'pausedUntil', value: 'soon' }] } };
    await expect(upgradeExample(broken)).rejects.toThrow();
  });
});
