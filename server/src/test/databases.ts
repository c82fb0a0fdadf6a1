import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe } from 'vitest';
import type { Database } from '../db/database';
import { migrate } from '../db/migrate';
import { openPgliteDatabase } from '../db/pglite-database';
import { openPostgresDatabase } from '../db/postgres-database';

/** Real PostgreSQL for the server suites; CI starts a trust-auth server here. */
export const postgresTestUrl = process.env.GLEANER_TEST_DATABASE_URL ?? 'postgres://127.0.0.1:5432/test';

async function probePostgres(): Promise<string | undefined> {
  try {
    const db = await openPostgresDatabase(postgresTestUrl, { maxConnections: 1 });
    await db.close();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

const postgresProblem = await probePostgres();
const inCi = Boolean(process.env.CI) && !/^(false|0)$/i.test(process.env.CI ?? '');
if (postgresProblem && inCi) {
  // In CI a skipped half would pass unnoticed: stop the run instead.
  throw new Error(
    `PostgreSQL at ${postgresTestUrl} did not answer (${postgresProblem}), and CI is set, so the server suites ` +
      'will not skip their PostgreSQL half. Start PostgreSQL there (trust auth, database "test") or point ' +
      'GLEANER_TEST_DATABASE_URL at one; unset CI only for a local run that may skip it.',
  );
}
if (postgresProblem) {
  const line = '!'.repeat(78);
  console.warn(
    `\n${line}\n!! PostgreSQL at ${postgresTestUrl} did not answer (${postgresProblem}).\n!! The PostgreSQL half of the server suites is SKIPPED; only PGlite ran.\n!! Start PostgreSQL or set GLEANER_TEST_DATABASE_URL to run it.\n${line}\n`,
  );
}

/** `describe` for suites that need real PostgreSQL: skipped loudly when none answers (never in CI). */
export const describePostgres = describe.skipIf(postgresProblem !== undefined);

/** A fresh, empty schema in the test PostgreSQL, and `drop` to remove it with all it holds. */
export async function createTestSchema(): Promise<{ schema: string; drop: () => Promise<void> }> {
  const schema = `gleaner_test_${randomBytes(6).toString('hex')}`;
  const admin = await openPostgresDatabase(postgresTestUrl, { maxConnections: 1 });
  try {
    await admin.exec(`create schema ${schema}`);
  } catch (error) {
    await admin.close();
    throw error;
  }
  return {
    schema,
    drop: async () => {
      await admin.exec(`drop schema ${schema} cascade`);
      await admin.close();
    },
  };
}

export type DatabaseKind = Database['kind'];

/**
 * Opens a fresh, migrated database of the given kind. PostgreSQL gets its own schema,
 * dropped again by `dispose`, so suites never see each other's rows.
 */
async function openTestDatabase(kind: DatabaseKind): Promise<{ db: Database; dispose: () => Promise<void> }> {
  if (kind === 'pglite') {
    const db = await openPgliteDatabase();
    await migrate(db);
    return { db, dispose: () => db.close() };
  }
  const { schema, drop } = await createTestSchema();
  const db = await openPostgresDatabase(postgresTestUrl, { schema, maxConnections: 4 });
  await migrate(db);
  return {
    db,
    dispose: async () => {
      await db.close();
      await drop();
    },
  };
}

/** Runs the same suite on embedded PGlite and on real PostgreSQL (skipped loudly when none answers). */
export function describeEachDatabase(
  name: string,
  suite: (database: () => Database, kind: DatabaseKind) => void,
): void {
  for (const kind of ['pglite', 'postgres'] as const) {
    (kind === 'postgres' ? describePostgres : describe)(`${name} [${kind}]`, () => {
      let opened: { db: Database; dispose: () => Promise<void> } | undefined;
      beforeAll(async () => {
        opened = await openTestDatabase(kind);
      });
      afterAll(async () => {
        await opened?.dispose();
      });
      suite(() => {
        if (!opened) throw new Error('test database is not open yet');
        return opened.db;
      }, kind);
    });
  }
}
