import { join } from 'node:path';
import type { Database } from './db/database';
import { migrate } from './db/migrate';
import { openPgliteDatabase } from './db/pglite-database';
import { openPostgresDatabase } from './db/postgres-database';

/** Opens PostgreSQL when a URL is given, else the embedded PGlite in the data folder; then migrates. */
export async function openDatabase(config: { databaseUrl: string | undefined; dataDir: string }): Promise<{
  db: Database;
  applied: string[];
}> {
  const db = config.databaseUrl
    ? await openPostgresDatabase(config.databaseUrl)
    : await openPgliteDatabase(join(config.dataDir, 'pglite'));
  try {
    const { applied } = await migrate(db);
    return { db, applied };
  } catch (error) {
    await db.close();
    throw error;
  }
}
