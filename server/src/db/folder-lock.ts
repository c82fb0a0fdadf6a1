import { readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import lockfile from 'proper-lockfile';

/** Held while a process uses a folder; `release` lets the next process in. */
export interface FolderLock {
  release(): Promise<void>;
}

/** Who holds a folder, as the holder wrote it down (told to the operator, never trusted for a decision). */
interface Holder {
  pid: number;
  host: string;
  since: string;
}

/** Folders this process holds: known for sure, where a pid read from a file could be another's. */
const heldHere = new Set<string>();

/** Another process holds the folder (or this one does): `holder` says which, as its owner file says. */
export class FolderInUseError extends Error {
  constructor(
    readonly folder: string,
    readonly holder: Holder | undefined,
  ) {
    const who = heldHere.has(folder)
      ? 'this process'
      : holder === undefined
        ? 'another process'
        : `another process (pid ${holder.pid} on ${holder.host}, since ${holder.since}, by its lock's owner file)`;
    super(
      `The database folder ${folder} is in use by ${who}: two processes on one embedded database overwrite ` +
        'each other’s writes. Stop that process, or give this one another data folder (GLEANER_DATA_DIR).',
    );
    this.name = 'FolderInUseError';
  }
}

export interface FolderLockOptions {
  /** A lock not renewed for this long was left by a process that ended without releasing it (SIGKILL, power cut). */
  staleMs?: number;
  /** How long to wait for a held lock to be released or go stale before refusing. */
  waitMs?: number;
}

/**
 * One process at a time on a folder. PGlite has no lock of its own: a second process on the same folder runs
 * with its own buffers, and whichever writes last overwrites the other's pages (two processes writing 200 rows
 * each left one's rows only), so the folder is locked before PGlite opens it.
 *
 * The lock is a directory beside the folder (`<folder>.lock`, made with mkdir, which only one process can win),
 * inside the owner-only data folder, so no other user can take or fake it. It lives with the data, so it holds
 * across bind mounts, containers sharing a volume and Node versions. The holder renews its time every few
 * seconds; one left behind by a killed process goes stale after `staleMs` and the next start takes it over,
 * waiting up to `waitMs` for that. Should the holder find its lock taken (it stalled past `staleMs` and another
 * process moved in), it ends at once rather than write beside that process.
 */
export async function lockFolder(folder: string, options: FolderLockOptions = {}): Promise<FolderLock> {
  const real = await realpath(folder);
  const staleMs = options.staleMs ?? 10_000;
  const waitMs = options.waitMs ?? staleMs + 2_000;
  const ownerFile = `${real}.lock-owner`;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(real, {
      realpath: false,
      stale: staleMs,
      update: Math.max(1_000, Math.floor(staleMs / 5)),
      retries: { retries: Math.ceil(waitMs / 500), factor: 1, minTimeout: 500, maxTimeout: 500 },
      onCompromised: (error) => {
        throw new Error(
          `Lost the lock on the database folder ${real} (${error.message}): another process may be using it, so this one stops before it overwrites anything.`,
        );
      },
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
    throw new FolderInUseError(real, await readHolder(ownerFile));
  }
  heldHere.add(real);
  const holder: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  await writeFile(ownerFile, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
  return {
    release: async () => {
      await rm(ownerFile, { force: true });
      await release();
      heldHere.delete(real);
    },
  };
}

async function readHolder(file: string): Promise<Holder | undefined> {
  try {
    const holder = JSON.parse(await readFile(file, 'utf8')) as Partial<Holder>;
    if (typeof holder.pid === 'number' && typeof holder.host === 'string' && typeof holder.since === 'string') {
      return { pid: holder.pid, host: holder.host, since: holder.since };
    }
  } catch {
    // Not written yet (the holder is starting), or gone (it is stopping): the refusal names no process.
  }
  return undefined;
}
