import { expect, it } from 'vitest';
import { describeEachDatabase } from '../test/databases';
import { migrate, splitStatements } from './migrate';

describeEachDatabase('migrations', (database) => {
  it('records every migration and applies none twice', async () => {
    const again = await migrate(database());
    expect(again.applied).toEqual([]);
    const rows = await database().query<{ name: string }>('select name from schema_migrations order by name');
    expect(rows.map((row) => row.name)).toContain('0001_init.sql');
  });
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
