import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningServer, startGleanerServer } from '../e2e/gleaner-server';
import type { Database } from '../server/src/db/database';
import { openPgliteDatabase } from '../server/src/db/pglite-database';
import { openPostgresDatabase } from '../server/src/db/postgres-database';
import { listeningPid } from './load-metrics';

export interface LoadServers {
  kind: 'pglite' | 'postgres';
  servers: Array<RunningServer & { pid: number }>;
  /** Stops every server process, then opens the database they shared for the correctness checks. */
  stopAndOpenDatabase: () => Promise<Database>;
  /** Removes the database (schema or data folder) after the checks. */
  dispose: () => Promise<void>;
}

/**
 * Starts `processes` real server processes. On PostgreSQL (`databaseUrl` set) they share a fresh schema,
 * dropped by `dispose`, so nothing else in that database is touched; on PGlite there is one process,
 * since an embedded database belongs to the process that opened it.
 */
export async function startLoadServers(
  processes: number,
  databaseUrl: string | undefined,
  env: Record<string, string>,
): Promise<LoadServers> {
  if (!databaseUrl && processes > 1) {
    throw new Error(
      `GLEANER_BENCH_LOAD_PROCESSES=${processes} needs PostgreSQL (DATABASE_URL): PGlite is embedded in one process`,
    );
  }
  const schema = `gleaner_load_${randomBytes(6).toString('hex')}`;
  let admin: Database | undefined;
  if (databaseUrl) {
    admin = await openPostgresDatabase(databaseUrl, { maxConnections: 1 });
    await admin.exec(`create schema ${schema}`);
  }
  const serverDatabaseUrl = databaseUrl
    ? `${databaseUrl}${databaseUrl.includes('?') ? '&' : '?'}search_path=${schema}`
    : undefined;
  const dataDirs: string[] = [];
  const servers: LoadServers['servers'] = [];
  const dispose = async () => {
    await Promise.all(servers.map((server) => server.stop()));
    for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
    if (admin) {
      await admin.exec(`drop schema if exists ${schema} cascade`);
      await admin.close();
    }
  };
  try {
    // One after another: each migrates the shared schema at start, and the first has done it for the rest.
    for (let p = 0; p < processes; p += 1) {
      const dataDir = await mkdtemp(join(tmpdir(), 'gleaner-load-'));
      dataDirs.push(dataDir);
      const server = await startGleanerServer({
        dataDir,
        env: { ...env, ...(serverDatabaseUrl ? { DATABASE_URL: serverDatabaseUrl } : {}) },
      });
      const pid = await listeningPid(Number(new URL(server.url).port));
      if (pid === undefined) {
        await server.stop();
        throw new Error(`no process is listening on ${server.url}`);
      }
      servers.push({ ...server, pid });
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    kind: databaseUrl ? 'postgres' : 'pglite',
    servers,
    stopAndOpenDatabase: async () => {
      await Promise.all(servers.map((server) => server.stop()));
      if (databaseUrl) return openPostgresDatabase(databaseUrl, { schema, maxConnections: 1 });
      return openPgliteDatabase(join(dataDirs[0] as string, 'pglite'));
    },
    dispose,
  };
}
