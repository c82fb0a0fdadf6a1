import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { repoRoot } from '../extension-build';

/** Whether `port` on 127.0.0.1 can be listened on now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const probe = createServer();
    probe.once('error', () => resolveFree(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolveFree(true)));
  });
}

/** A port the system says is free now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no free port')),
      );
    });
  });
}

export interface ServerProcess {
  url: string;
  /** Resolves when the process has exited, with its exit code. */
  exited: Promise<number | null>;
  stop: () => Promise<void>;
}

/**
 * Runs the real server (server/src/server.ts, as `npm start` does, the local chain included) on
 * 127.0.0.1:`port` with `env`, passing each line it prints to `print`, and waits for /health.
 */
export async function startServerProcess(
  port: number,
  env: Record<string, string>,
  print: (line: string) => void,
): Promise<ServerProcess> {
  // The demo always uses the embedded database in its own folder, whatever the shell has set.
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  // GLEANER_SERVER_CPU_PROFILE=<folder> writes a V8 CPU profile of the server there when it stops (load bench).
  const profile = process.env.GLEANER_SERVER_CPU_PROFILE;
  const child: ChildProcess = spawn(
    process.execPath,
    // The server itself loads tsx, rather than tsx's command line running it in a child: that relays SIGTERM
    // and sends SIGKILL when the child has not answered within 60 ms, so a busy server never shut down cleanly
    // (its database left unclosed, its data folder's lock left to go stale). A profile needs this too.
    [...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []), '--import', 'tsx', 'server/src/server.ts'],
    {
      cwd: repoRoot,
      env: {
        ...inherited,
        ...env,
        TSX_TSCONFIG_PATH: 'server/tsconfig.json',
        PORT: String(port),
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  let pending = '';
  const forward = (chunk: Buffer) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) print(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  for (;;) {
    if (exitCode !== undefined)
      throw new Error(`the server exited (code ${exitCode}) before it answered; its output is above`);
    const healthy = await fetch(`${url}/health`).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return { url, exited, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the server did not answer ${url}/health within 90 s; its output is above`);
    }
    await new Promise((wait) => setTimeout(wait, 250));
  }
}
