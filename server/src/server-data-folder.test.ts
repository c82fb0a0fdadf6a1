import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openPgliteDatabase } from './db/pglite-database';
import { freePort, type ServerProcess, startServerProcess } from './demo/server-process';

/**
 * `npm start` run twice on one data folder (a second terminal, a service manager restarting a server that is
 * still stopping): the second must refuse before it touches the embedded database, or the two overwrite each
 * other's writes and buyers, devices and points vanish.
 */

const operatorToken = 'data-folder-test-operator-token-0123456789';
const asOperator = { authorization: `Bearer ${operatorToken}`, 'content-type': 'application/json' };
let dataDir: string;
let first: ServerProcess | undefined;

afterAll(async () => {
  await first?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('refuses a second server on a data folder in use, naming the process, and the first loses nothing', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gleaner-data-folder-'));
  // The chain off: the local chain's own check would stop the second server too, but only after it opened the database.
  const env = {
    GLEANER_DATA_DIR: dataDir,
    GLEANER_OPERATOR_TOKEN: operatorToken,
    GLEANER_CHAIN: 'off',
    LOG_LEVEL: 'warn',
  };
  const firstOutput: string[] = [];
  first = await startServerProcess(await freePort(), env, (line) => firstOutput.push(line));
  const createBuyer = async (name: string) => {
    const response = await fetch(`${first?.url}/v1/admin/buyers`, {
      method: 'POST',
      headers: asOperator,
      body: JSON.stringify({ name, email: 'data@example.com' }),
    });
    expect(response.status).toBe(201);
  };
  await createBuyer('before the second start');

  const secondOutput: string[] = [];
  const second: ServerProcess | Error = await startServerProcess(await freePort(), env, (line) =>
    secondOutput.push(line),
  ).catch((error: Error) => error);
  if (!(second instanceof Error)) await second.stop();
  expect(second).toBeInstanceOf(Error);
  expect(secondOutput.join('\n')).toMatch(
    /The database folder .* is in use by another process \(pid \d+ on .+, since .+\)/,
  );

  await createBuyer('after the second start');
  await first.stop();
  first = undefined;
  const db = await openPgliteDatabase(join(dataDir, 'pglite'));
  const names = await db.query<{ name: string }>('select name from buyers order by created_at');
  await db.close();
  expect(names.map((row) => row.name)).toEqual(['before the second start', 'after the second start']);
}, 180_000);
