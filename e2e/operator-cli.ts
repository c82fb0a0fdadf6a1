import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunningServer } from './gleaner-server';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Runs `npm run gleaner -- <args>` the way an operator does, against the test server; resolves with its output. */
export async function gleanerCli(server: RunningServer, args: readonly string[]): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      join(repoRoot, 'node_modules/tsx/dist/cli.mjs'),
      '--tsconfig',
      'server/tsconfig.json',
      'server/src/cli/index.ts',
      ...args,
    ],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        GLEANER_URL: server.url,
        GLEANER_OPERATOR_TOKEN: server.operatorToken,
        GLEANER_DATA_DIR: server.dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  const code = await new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
  if (code !== 0) throw new Error(`gleaner ${args.join(' ')} exited with ${code}:\n${output}`);
  return output;
}
