import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgliteDatabase } from './pglite-database';
import { withQueryStats } from './query-stats';

describe('statement timings for profiling', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gleaner-query-stats-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('counts each statement by its text, inside transactions and when it fails, and writes them slowest total first', async () => {
    const file = join(dir, 'stats.json');
    const db = withQueryStats(await openPgliteDatabase(), file);
    try {
      await db.query('select   1 as one');
      await db.query('select 1 as one');
      await db.transaction(async (tx) => {
        await tx.query('select pg_sleep(0.05), 2 as two');
      });
      await expect(db.query('select * from no_such_table')).rejects.toThrow();
      db.flush();
    } finally {
      await db.close();
    }
    const rows = JSON.parse(await readFile(file, 'utf8')) as Array<{
      statement: string;
      calls: number;
      rows: number;
      totalMs: number;
    }>;
    // Slowest total first; the sleep took at least its 50 ms (which one is slowest depends on the machine).
    const totals = rows.map((row) => row.totalMs);
    expect(totals).toEqual([...totals].sort((a, b) => b - a));
    expect(rows.find((row) => row.statement === 'select pg_sleep(0.05), 2 as two')?.totalMs).toBeGreaterThanOrEqual(50);
    expect(rows.find((row) => row.statement === 'select 1 as one')).toMatchObject({ calls: 2, rows: 2 });
    expect(rows.find((row) => row.statement === 'select * from no_such_table')).toMatchObject({ calls: 1, rows: 0 });
  });
});
