import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Database } from './database';

const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface MigrationResult {
  applied: string[];
}

/** Any fixed number will do, as long as nothing else in the database takes advisory lock `migrationLock`. */
const migrationLock = 7_130_402_611_205_117n;

/**
 * Applies the numbered SQL files in `migrations/` that this database has not seen, in order. The same files run on
 * PGlite and PostgreSQL, so they use only SQL both know.
 *
 * All of it is one transaction that first takes an advisory lock: two servers starting together on an empty
 * database would otherwise both create the tables, and one would fail. The second waits, then finds nothing to do.
 * A migration that fails leaves the database as it was before this run.
 */
export async function migrate(db: Database): Promise<MigrationResult> {
  const files = (await readdir(migrationsDir)).filter((name) => /^\d{4}_[a-z0-9_]+\.sql$/.test(name)).sort();
  const scripts = await Promise.all(
    files.map(async (name) => ({ name, script: await readFile(`${migrationsDir}${name}`, 'utf8') })),
  );
  return db.transaction(async (tx) => {
    // Released by the commit or rollback. PGlite has one connection, but takes the lock just the same.
    await tx.query(`select pg_advisory_xact_lock(${migrationLock})`);
    await tx.query(`create table if not exists schema_migrations (
      name text primary key,
      applied_at timestamptz not null default now()
    )`);
    const done = new Set(
      (await tx.query<{ name: string }>('select name from schema_migrations')).map((row) => row.name),
    );
    const applied: string[] = [];
    for (const { name, script } of scripts) {
      if (done.has(name)) continue;
      // Each statement separately: PGlite's extended protocol takes one statement per query.
      for (const statement of splitStatements(script)) await tx.query(statement);
      await tx.query('insert into schema_migrations (name) values ($1)', [name]);
      applied.push(name);
    }
    return { applied };
  });
}

/**
 * Splits a migration script into statements at semicolons that end a line, except inside
 * dollar-quoted bodies (`$$ … $$`, as in plpgsql functions). Migrations keep to that simple form.
 */
export function splitStatements(script: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  let inDollarQuote = false;
  for (const line of script.split('\n')) {
    if (!inDollarQuote && /^\s*--/.test(line)) continue;
    current.push(line);
    if ((line.match(/\$\$/g)?.length ?? 0) % 2 === 1) inDollarQuote = !inDollarQuote;
    if (!inDollarQuote && /;\s*$/.test(line)) {
      statements.push(current.join('\n').trim().replace(/;$/, ''));
      current = [];
    }
  }
  const rest = current.join('\n').trim();
  if (rest) statements.push(rest);
  return statements.filter((statement) => statement.length > 0);
}
