import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderInUseError, lockFolder } from './folder-lock';
import { openPgliteDatabase } from './pglite-database';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const folders: string[] = [];
const children: ChildProcess[] = [];
/** Short times, so a lock left by a killed process goes stale within the test. */
const quick = { staleMs: 2_000, waitMs: 500 };

async function newFolder(): Promise<string> {
  const parent = await mkdtemp(join(tmpdir(), 'gleaner-lock-'));
  folders.push(parent);
  const folder = join(parent, 'pglite');
  await mkdir(folder);
  return folder;
}

/**
 * Another process that takes the lock on `folder` (stale after 2 s) and holds it until killed; resolves once
 * it holds it. With `stallMs` it then blocks its event loop that long, as a process swapping or stopped would.
 */
async function holdInChild(folder: string, stallMs = 0): Promise<{ child: ChildProcess; output: () => string }> {
  const script = `import { lockFolder } from './server/src/db/folder-lock.ts';
await lockFolder(${JSON.stringify(folder)}, { staleMs: 2000 });
console.log('held');
const until = Date.now() + ${stallMs};
setTimeout(() => { while (Date.now() < until); console.log('woke'); }, 50);
setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      output += chunk;
      if (output.includes('held')) resolve();
    });
    child.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    child.once('exit', (code) => reject(new Error(`the lock holder exited with ${code}: ${output}`)));
  });
  return { child, output: () => output };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

const killed = async (child: ChildProcess) => {
  const done = exited(child);
  child.kill('SIGKILL');
  await done;
};

afterEach(async () => {
  for (const child of children.splice(0)) await killed(child);
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

describe('folder lock', () => {
  it('lets one holder in at a time, and the next in once released', async () => {
    const folder = await newFolder();
    const first = await lockFolder(folder, quick);
    const refused = await lockFolder(folder, quick).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(FolderInUseError);
    expect((refused as Error).message).toContain('is in use by this process');
    await first.release();
    const second = await lockFolder(folder, quick);
    await second.release();
  });

  it('keeps another process out while it holds the folder, naming it, and lets the next in once it was killed', async () => {
    const folder = await newFolder();
    const { child } = await holdInChild(folder);
    const refused = await lockFolder(folder, quick).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(FolderInUseError);
    expect((refused as FolderInUseError).holder?.pid).toBe(child.pid);
    expect((refused as Error).message).toMatch(new RegExp(`in use by another process \\(pid ${child.pid} on `));
    // SIGKILL: no code of the holder runs to release anything; its lock goes stale and is taken over.
    await killed(child);
    const taken = await lockFolder(folder, { staleMs: 2_000, waitMs: 5_000 });
    await taken.release();
  });

  it('locks the folder, not the spelling of its path', async () => {
    const folder = await newFolder();
    const link = join(folder, '..', 'link-to-pglite');
    await symlink(folder, link);
    const held = await lockFolder(folder, quick);
    await expect(lockFolder(`${folder}/./`, quick)).rejects.toThrow(FolderInUseError);
    await expect(lockFolder(join(folder, '..', basename(folder)), quick)).rejects.toThrow(FolderInUseError);
    await expect(lockFolder(link, quick)).rejects.toThrow(FolderInUseError);
    await held.release();
  });

  it('takes over a lock that stopped being renewed, but not a fresh one', async () => {
    const folder = await newFolder();
    // What a killed holder leaves: the lock directory, last renewed a minute ago.
    await mkdir(`${folder}.lock`);
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(`${folder}.lock`, minuteAgo, minuteAgo);
    const lock = await lockFolder(folder, quick);
    expect(JSON.parse(await readFile(`${folder}.lock-owner`, 'utf8'))).toMatchObject({ pid: process.pid });
    await lock.release();
    await expect(stat(`${folder}.lock`)).rejects.toThrow(/ENOENT/);
    await expect(stat(`${folder}.lock-owner`)).rejects.toThrow(/ENOENT/);

    await mkdir(`${folder}.lock`);
    await expect(lockFolder(folder, quick)).rejects.toThrow(FolderInUseError);
  });

  it('ends a holder that stalled past the stale time and lost its lock, rather than let it write beside the next', async () => {
    const folder = await newFolder();
    const { child, output } = await holdInChild(folder, 6_000);
    // The holder stalls: its lock goes stale and this process takes it over.
    const taken = await lockFolder(folder, { staleMs: 2_000, waitMs: 5_000 });
    expect(await exited(child)).not.toBe(0);
    expect(output()).toContain('woke');
    expect(output()).toContain(`Lost the lock on the database folder ${folder}`);
    // And this process still holds it.
    await expect(lockFolder(folder, quick)).rejects.toThrow('is in use by this process');
    await taken.release();
  });
});

describe('embedded database folder', () => {
  it('refuses a second open of a folder in use, and the first keeps its writes', async () => {
    const folder = await newFolder();
    const first = await openPgliteDatabase(folder);
    await first.exec('create table kept (n int)');
    await first.query('insert into kept values (1)');
    await expect(openPgliteDatabase(folder)).rejects.toThrow(/is in use by this process/);
    await first.query('insert into kept values (2)');
    await first.close();

    const reopened = await openPgliteDatabase(folder);
    expect(await reopened.query<{ n: number }>('select n from kept order by n')).toEqual([{ n: 1 }, { n: 2 }]);
    await reopened.close();
    // The refusal waits 12 s for a stale lock to expire.
  }, 60_000);
});
