import { join } from 'node:path';
import type { Database } from './db/database';
import { migrate } from './db/migrate';
import { createPrivateDir, openPgliteDatabase } from './db/pglite-database';
import { openPostgresDatabase } from './db/postgres-database';
import { withQueryStats } from './db/query-stats';

/** Opens PostgreSQL when a URL is given, else the embedded PGlite in the data folder; then migrates. */
export async function openDatabase(config: {
  databaseUrl: string | undefined;
  databasePool?: number;
  dataDir: string;
  queryStatsFile?: string | undefined;
}): Promise<{
  db: Database;
  applied: string[];
}> {
  const opened = config.databaseUrl
    ? await openPostgresDatabase(config.databaseUrl, { maxConnections: config.databasePool })
    : await openPglite(config.dataDir);
  const db = config.queryStatsFile ? closingWithStats(opened, config.queryStatsFile) : opened;
  try {
    const { applied } = await migrate(db);
    return { db, applied };
  } catch (error) {
    await db.close();
    throw error;
  }
}

/** The data folder holds the whole database (and the operator token): owner only, even if it existed before. */
async function openPglite(dataDir: string): Promise<Database> {
  await createPrivateDir(dataDir);
  return openPgliteDatabase(join(dataDir, 'pglite'));
}

/** Statement timings for profiling, written when the database closes (at the server's shutdown). */
function closingWithStats(db: Database, file: string): Database {
  const counted = withQueryStats(db, file);
  return {
    ...counted,
    close: async () => {
      counted.flush();
      await db.close();
    },
  };
}
