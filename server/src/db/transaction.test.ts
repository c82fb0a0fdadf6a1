import { expect, it } from 'vitest';
import { describeEachDatabase } from '../test/databases';

describeEachDatabase('transactions and savepoints', (database) => {
  it('rolls back only a savepoint whose statement failed, and commits the rest of the transaction', async () => {
    const db = database();
    await db.query('create table if not exists savepoint_probe (n int primary key, note text not null)');
    await db.query('delete from savepoint_probe');
    const committed = await db.transaction(async (tx) => {
      await tx.query(`insert into savepoint_probe values (1, 'before')`);
      const failed = await tx
        .savepoint(async (scope) => {
          await scope.query(`insert into savepoint_probe values (2, 'inside, undone')`);
          // A data error, as a record the checks let through might raise: a displacement PostgreSQL refuses.
          await scope.query(`select '2026-01-01T00:00:00+16:00'::timestamptz`);
        })
        .then(
          () => null,
          (error: unknown) => error,
        );
      expect(failed).toBeInstanceOf(Error);
      // Nested: the inner one fails, the outer one keeps its own row.
      await tx.savepoint(async (outer) => {
        await outer.query(`insert into savepoint_probe values (3, 'outer')`);
        await outer.savepoint((inner) => inner.query('select 1/0')).catch(() => undefined);
      });
      expect(await tx.savepoint(async (scope) => (await scope.query<{ n: number }>('select 4 as n'))[0]?.n)).toBe(4);
      await tx.query(`insert into savepoint_probe values (5, 'after')`);
      return 'committed';
    });
    expect(committed).toBe('committed');
    const rows = await db.query<{ n: number }>('select n from savepoint_probe order by n');
    expect(rows.map((row) => row.n)).toEqual([1, 3, 5]);
    await db.query('drop table savepoint_probe');
  });
});
