import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Database } from './database';

const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface MigrationResult {
  applied: string[];
}

/**
 * Applies the numbered SQL files in `migrations/` that this database has not seen, in order,
 * each in its own transaction. The same files run on PGlite and PostgreSQL, so they use only SQL both know.
 */
export async function migrate(db: Database): Promise<MigrationResult> {
  await db.exec(`create table if not exists schema_migrations (
    name text primary key,
    applied_at timestamptz not null default now()
  )`);
  const done = new Set((await db.query<{ name: string }>('select name from schema_migrations')).map((row) => row.name));
  const files = (await readdir(migrationsDir)).filter((name) => /^\d{4}_[a-z0-9_]+\.sql$/.test(name)).sort();
  const applied: string[] = [];
  for (const name of files) {
    if (done.has(name)) continue;
    const script = await readFile(`${migrationsDir}${name}`, 'utf8');
    await db.transaction(async (tx) => {
      // Each statement separately: PGlite's extended protocol takes one statement per query.
      for (const statement of splitStatements(script)) await tx.query(statement);
      await tx.query('insert into schema_migrations (name) values ($1)', [name]);
    });
    applied.push(name);
  }
  return { applied };
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
