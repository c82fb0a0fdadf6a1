import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startServerProcess } from '../server/src/demo/server-process';

export interface RunningServer {
  url: string;
  operatorToken: string;
  dataDir: string;
  /** Everything the server printed, for failure messages. */
  output: () => string;
  stop: () => Promise<void>;
}

export interface StartOptions {
  /** Reuse a data folder (to restart the same server); a fresh temporary one otherwise. */
  dataDir?: string;
  port?: number;
  /** Extra environment, e.g. GLEANER_TEST_ORIGINS or GLEANER_POLITENESS_MS. */
  env?: Record<string, string>;
}

/** Starts the real server (`server/src/server.ts`) on a free port with a fresh embedded database. */
export async function startGleanerServer(options: StartOptions = {}): Promise<RunningServer> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'gleaner-e2e-')));
  const port = options.port ?? (await freePort());
  const operatorToken = 'e2e-operator-token-0123456789abcdef';
  let output = '';
  const server = await startServerProcess(
    port,
    { GLEANER_DATA_DIR: dataDir, GLEANER_OPERATOR_TOKEN: operatorToken, LOG_LEVEL: 'warn', ...options.env },
    (line) => {
      output += `${line}\n`;
    },
  ).catch((error: unknown) => {
    // A test report has no terminal to look above: the failure itself carries what the server printed.
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`The Gleaner server did not start (${reason}). It printed:\n${output}`, { cause: error });
  });
  return {
    url: server.url,
    operatorToken,
    dataDir,
    output: () => output,
    stop: async () => {
      await server.stop();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
