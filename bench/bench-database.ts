import { randomBytes } from 'node:crypto';
import type { Database } from '../server/src/db/database';
import { migrate } from '../server/src/db/migrate';
import { openPgliteDatabase } from '../server/src/db/pglite-database';
import { openPostgresDatabase } from '../server/src/db/postgres-database';

/** Opens the bench database: PostgreSQL in a fresh schema when `DATABASE_URL` is set, PGlite otherwise. */
export async function openBenchDatabase(): Promise<{ db: Database; label: string; dispose: () => Promise<void> }> {
  const url = process.env.DATABASE_URL;
  if (!url) {
    const db = await openPgliteDatabase();
    await migrate(db);
    return { db, label: 'PGlite', dispose: () => db.close() };
  }
  const schema = `gleaner_bench_${randomBytes(6).toString('hex')}`;
  const admin = await openPostgresDatabase(url, { maxConnections: 1 });
  await admin.exec(`create schema ${schema}`);
  const dropSchema = async () => {
    await admin.exec(`drop schema ${schema} cascade`);
    await admin.close();
  };
  let db: Database | undefined;
  try {
    db = await openPostgresDatabase(url, { schema });
    await migrate(db);
  } catch (error) {
    // A failed start leaves nothing behind: the schema is dropped before the error goes on.
    await db?.close();
    await dropSchema();
    throw error;
  }
  const opened = db;
  return {
    db: opened,
    label: 'PostgreSQL',
    dispose: async () => {
      await opened.close();
      await dropSchema();
    },
  };
}
