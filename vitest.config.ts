import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { WxtVitest } from 'wxt/testing/vitest-plugin';

const protocolDir = fileURLToPath(new URL('./protocol', import.meta.url));

export default defineConfig({
  test: {
    // Vitest's default is one worker per core less one: a single file at a time on a 2-core machine. Most server
    // files wait on PostgreSQL, child servers, anvil or timers, so two at a time took the server and contract
    // suites from ~15 to ~10.5 minutes on 2 cores; each file still has its own database schema and free ports.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    projects: [
      {
        plugins: [WxtVitest()],
        test: {
          name: 'extension',
          include: [
            'protocol/**/*.test.ts',
            'lib/**/*.test.ts',
            'components/**/*.test.tsx',
            'entrypoints/**/*.test.{ts,tsx}',
          ],
          environment: 'happy-dom',
          setupFiles: ['fake-indexeddb/auto'],
        },
      },
      {
        resolve: { alias: { '@protocol': protocolDir } },
        test: {
          name: 'server',
          // bench/load.test.ts: the load harness in short mode (correctness only, never timings).
          include: ['server/**/*.test.ts', 'bench/**/*.test.ts'],
          // The console's tests run in their own browser-like project (server/console/vitest.config.ts).
          exclude: ['server/console/**', '**/node_modules/**'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'contracts',
          // Each file starts one anvil and deploys on it; contracts/compile.ts compiles once for all files.
          include: ['contracts/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
