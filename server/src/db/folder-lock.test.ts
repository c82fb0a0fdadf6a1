import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FolderInUseError, lockFolder } from './folder-lock';
import { openPgliteDatabase } from './pglite-database';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const folders: string[] = [];
const children: ChildProcess[] = [];

async function newFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'gleaner-lock-'));
  folders.push(folder);
  return folder;
}

/** Another process that takes the lock on `folder` and holds it until killed; resolves once it holds it. */
async function holdInChild(folder: string, platform: string): Promise<ChildProcess> {
  const script = `import { lockFolder } from './server/src/db/folder-lock.ts';
await lockFolder(${JSON.stringify(folder)}, { platform: ${JSON.stringify(platform)} });
console.log('held');
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
  return child;
}

const killed = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) await killed(child);
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});

describe.each(['linux', 'darwin'] as const)('folder lock (%s way)', (platform) => {
  it('lets one holder in at a time, names the holder, and lets the next in once released', async () => {
    const folder = await newFolder();
    const first = await lockFolder(folder, { platform });
    const refused = await lockFolder(folder, { platform }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(FolderInUseError);
    expect((refused as FolderInUseError).holder).toBe(process.pid);
    expect((refused as Error).message).toContain(`in use by another process (pid ${process.pid})`);
    await first.release();
    const second = await lockFolder(folder, { platform });
    await second.release();
  });

  it('keeps another process out while it holds the folder, and frees it when that process is killed', async () => {
    const folder = await newFolder();
    const child = await holdInChild(folder, platform);
    const refused = await lockFolder(folder, { platform }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(FolderInUseError);
    expect((refused as FolderInUseError).holder).toBe(child.pid);
    // SIGKILL: no code of the holder runs to release anything.
    await killed(child);
    const taken = await lockFolder(folder, { platform });
    await taken.release();
  });

  it('locks the folder, not the spelling of its path', async () => {
    const folder = await newFolder();
    const held = await lockFolder(folder, { platform });
    await expect(lockFolder(`${folder}/./`, { platform })).rejects.toThrow(FolderInUseError);
    await expect(lockFolder(join(folder, '..', basename(folder)), { platform })).rejects.toThrow(FolderInUseError);
    await held.release();
  });
});

describe('folder lock by pid file (where there are no abstract sockets)', () => {
  it('takes over a lock file left by a process that has ended, and removes its file on release', async () => {
    const folder = await newFolder();
    // A pid far above any pid_max: no such process runs.
    await writeFile(`${folder}.lock`, '2147483600\n');
    const lock = await lockFolder(folder, { platform: 'darwin' });
    expect(await readFile(`${folder}.lock`, 'utf8')).toBe(`${process.pid}\n`);
    await lock.release();
    await expect(stat(`${folder}.lock`)).rejects.toThrow(/ENOENT/);
  });
});

describe('embedded database folder', () => {
  it('refuses a second open of a folder in use, and the first keeps its writes', async () => {
    const folder = await newFolder();
    const first = await openPgliteDatabase(folder);
    await first.exec('create table kept (n int)');
    await first.query('insert into kept values (1)');
    await expect(openPgliteDatabase(folder)).rejects.toThrow(/is in use by another process/);
    await first.query('insert into kept values (2)');
    await first.close();

    const reopened = await openPgliteDatabase(folder);
    expect(await reopened.query<{ n: number }>('select n from kept order by n')).toEqual([{ n: 1 }, { n: 2 }]);
    await reopened.close();
  });
});
