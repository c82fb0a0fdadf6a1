import postgres from 'postgres';
import type { Database, Queryable, Transaction } from './database';

export interface PostgresOptions {
  /** Schema to use as the search path (tests isolate themselves this way). */
  schema?: string;
  maxConnections?: number;
}

/** Real PostgreSQL through the `postgres` driver, which prepares statements by default. */
export async function openPostgresDatabase(url: string, options: PostgresOptions = {}): Promise<Database> {
  const lz4 = await supportsLz4(url);
  const sql = postgres(url, {
    max: options.maxConnections ?? 10,
    onnotice: () => {},
    connection: {
      ...(options.schema ? { search_path: options.schema } : {}),
      // Page text is large: lz4 TOAST compression ingests about twice as fast as the default pglz.
      ...(lz4 ? { default_toast_compression: 'lz4' } : {}),
    },
    // int8 counts come back as strings from this driver and as numbers from PGlite; we cast in SQL instead.
  });
  await sql`select 1`;
  const wrap = (runner: postgres.Sql | postgres.TransactionSql): Queryable => ({
    async query<Row>(text: string, params: readonly unknown[] = []) {
      const rows = await runner.unsafe(text, params as postgres.ParameterOrJSON<never>[]);
      return rows as unknown as Row[];
    },
  });
  const wrapTransaction = (tx: postgres.TransactionSql): Transaction => ({
    ...wrap(tx),
    // The driver's own savepoint scope: a statement failing inside it fails only the scope.
    savepoint: async <T>(fn: (inner: Transaction) => Promise<T>) =>
      (await tx.savepoint((inner) => fn(wrapTransaction(inner)))) as T,
  });
  const root = wrap(sql);
  return {
    kind: 'postgres',
    query: root.query,
    async transaction<T>(fn: (tx: Transaction) => Promise<T>) {
      return (await sql.begin((tx) => fn(wrapTransaction(tx)))) as T;
    },
    async exec(script: string) {
      await sql.unsafe(script);
    },
    close: () => sql.end({ timeout: 5 }),
  };
}

/** Whether this PostgreSQL was built with lz4 (14+ on most distributions). */
async function supportsLz4(url: string): Promise<boolean> {
  const probe = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await probe<{ lz4: boolean }[]>`
      select 'lz4' = any(enumvals) as lz4 from pg_settings where name = 'default_toast_compression'`;
    return rows[0]?.lz4 === true;
  } finally {
    await probe.end({ timeout: 5 });
  }
}
