import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { createTestSchema, describeEachDatabase, describePostgres, postgresTestUrl } from '../test/databases';
import { migrate, splitStatements } from './migrate';
import { openPostgresDatabase } from './postgres-database';

const migrationNames = async () =>
  (await readdir(new URL('./migrations/', import.meta.url))).filter((name) => name.endsWith('.sql')).sort();

/** Each migration's name with how many times schema_migrations lists it. */
async function recordedMigrations(schema: string): Promise<{ name: string; times: number }[]> {
  const db = await openPostgresDatabase(postgresTestUrl, { schema, maxConnections: 1 });
  try {
    return await db.query('select name, count(*)::int as times from schema_migrations group by name order by name');
  } finally {
    await db.close();
  }
}

describeEachDatabase('migrations', (database) => {
  it('records every migration and applies none twice', async () => {
    const again = await migrate(database());
    expect(again.applied).toEqual([]);
    const rows = await database().query<{ name: string }>('select name from schema_migrations order by name');
    expect(rows.map((row) => row.name)).toContain('0001_init.sql');
  });

  it('0020 turns project examples and aggregations stored as JSON strings back into what they spell', async () => {
    const db = database();
    const buyer = randomUUID();
    const [broken, fine] = [randomUUID(), randomUUID()];
    await db.query(`insert into buyers (id, name) values ($1, 'migration test')`, [buyer]);
    // As the postgres driver stored them before the fix: a jsonb string holding the JSON text.
    await db.query(
      `insert into projects (id, buyer_id, name, instructions, label_schema, overlap, gold_rate, examples, aggregation)
       values ($1, $3, 'broken', '', '{}', 1, 0, to_jsonb('[{"answer":1}]'::text), to_jsonb('{"method":"ds"}'::text)),
              ($2, $3, 'fine', '', '{}', 1, 0, '[{"answer":2}]'::jsonb, null)`,
      [broken, fine, buyer],
    );
    const script = await readFile(new URL('./migrations/0020_project_json_objects.sql', import.meta.url), 'utf8');
    for (const statement of splitStatements(script)) await db.query(statement);
    const rows = await db.query<{ name: string; examples: unknown; aggregation: unknown }>(
      'select name, examples, aggregation from projects where buyer_id = $1 order by name',
      [buyer],
    );
    expect(rows).toEqual([
      { name: 'broken', examples: [{ answer: 1 }], aggregation: { method: 'ds' } },
      { name: 'fine', examples: [{ answer: 2 }], aggregation: null },
    ]);
  });
});

describePostgres('migrations when several servers start at once [postgres]', () => {
  it('lets two connections migrate an empty schema together, each migration applied once', async () => {
    const { schema, drop } = await createTestSchema();
    const first = await openPostgresDatabase(postgresTestUrl, { schema, maxConnections: 2 });
    const second = await openPostgresDatabase(postgresTestUrl, { schema, maxConnections: 2 });
    try {
      const [a, b] = await Promise.all([migrate(first), migrate(second)]);
      const names = await migrationNames();
      expect([...a.applied, ...b.applied].sort()).toEqual(names);
      expect(await recordedMigrations(schema)).toEqual(names.map((name) => ({ name, times: 1 })));
    } finally {
      await first.close();
      await second.close();
      await drop();
    }
  });

  it('lets two server processes open the same empty schema together', async () => {
    const { schema, drop } = await createTestSchema();
    const url = new URL(postgresTestUrl);
    url.searchParams.set('search_path', schema);
    const openDatabaseUrl = new URL('../open-database.ts', import.meta.url).href;
    // What server.ts does at boot, in a process of its own (tsx, as `npm start` runs it).
    const script = `
      import { openDatabase } from ${JSON.stringify(openDatabaseUrl)};
      const { db, applied } = await openDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: 'unused' });
      await db.close();
      console.log(JSON.stringify(applied));`;
    const start = () =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
        env: { ...process.env, DATABASE_URL: url.href },
        timeout: 60_000,
      });
    try {
      const [a, b] = await Promise.all([start(), start()]);
      const applied = [...JSON.parse(a.stdout), ...JSON.parse(b.stdout)];
      const names = await migrationNames();
      expect(applied.sort()).toEqual(names);
      expect(await recordedMigrations(schema)).toEqual(names.map((name) => ({ name, times: 1 })));
    } finally {
      await drop();
    }
  }, 90_000);
});

it('splits a script into statements at line-ending semicolons and drops comments', () => {
  expect(splitStatements('-- note\ncreate table a (x int);\n\ncreate index b on a (x);\n')).toEqual([
    'create table a (x int)',
    'create index b on a (x)',
  ]);
});

it('keeps a dollar-quoted function body in one statement', () => {
  const script = 'create function f() returns int language plpgsql as $$\nbegin\n  return 1;\nend\n$$;\nselect 1;\n';
  expect(splitStatements(script)).toEqual([
    'create function f() returns int language plpgsql as $$\nbegin\n  return 1;\nend\n$$',
    'select 1',
  ]);
});
