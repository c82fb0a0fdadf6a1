import { createHash } from 'node:crypto';
import { open, readFile, realpath, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';

/** Held while a process uses a folder; `release` lets the next process in. */
export interface FolderLock {
  release(): Promise<void>;
}

/** Another process (`holder`, when it could say) holds the folder. */
export class FolderInUseError extends Error {
  constructor(
    readonly folder: string,
    readonly holder: number | undefined,
  ) {
    super(
      `The database folder ${folder} is in use by another process${holder === undefined ? '' : ` (pid ${holder})`}: ` +
        'two processes on one embedded database overwrite each other’s writes. Stop that process, or give this one ' +
        'another data folder (GLEANER_DATA_DIR).',
    );
    this.name = 'FolderInUseError';
  }
}

/**
 * One process at a time on a folder. PGlite has no lock of its own: a second process on the same folder runs
 * with its own buffers, and whichever writes last overwrites the other's pages (two processes writing 200 rows
 * each left one's rows only), so the folder is locked before PGlite opens it.
 *
 * On Linux the lock is an abstract Unix socket named after the folder's real path. Binding it is atomic, and
 * the kernel frees it when the process ends however it ends (SIGKILL, the OOM killer), so a crash never leaves
 * a stale lock behind. Abstract sockets belong to a network namespace: two containers sharing the folder but
 * not the network are not kept apart. Elsewhere the lock is a file next to the folder naming the holder's pid;
 * it is taken over when that process is gone, and two starts in the same instant can both pass it.
 */
export async function lockFolder(folder: string, options: { platform?: NodeJS.Platform } = {}): Promise<FolderLock> {
  const real = await realpath(folder);
  return (options.platform ?? process.platform) === 'linux' ? lockBySocket(real) : lockByPidFile(real);
}

async function lockBySocket(folder: string): Promise<FolderLock> {
  const name = `\0gleaner-folder-${createHash('sha256').update(folder).digest('hex').slice(0, 40)}`;
  // Anyone who connects is told the holder's pid, so the refusal can name the process to stop.
  const server: Server = createServer((socket) => socket.end(`${process.pid}\n`));
  const bound = await new Promise<boolean>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' ? resolve(false) : reject(error),
    );
    server.listen({ path: name }, () => resolve(true));
  });
  if (!bound) throw new FolderInUseError(folder, await askHolder(name));
  // The lock must not keep an otherwise finished process alive.
  server.unref();
  return { release: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The holder's pid, or undefined when it does not answer within a second (it may be busy or ending). */
function askHolder(name: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = createConnection({ path: name });
    const done = (pid: number | undefined) => {
      socket.destroy();
      resolve(pid);
    };
    socket.setTimeout(1_000, () => done(undefined));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.on('end', () => done(/^\d+\n$/.test(answer) ? Number(answer) : undefined));
    socket.on('error', () => done(undefined));
  });
}

async function lockByPidFile(folder: string): Promise<FolderLock> {
  const file = `${folder}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { release: () => rm(file, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) throw new FolderInUseError(folder, holder);
    // Left by a process that has ended: take it over.
    await rm(file, { force: true });
  }
  throw new FolderInUseError(folder, undefined);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
