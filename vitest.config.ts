import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { WxtVitest } from 'wxt/testing/vitest-plugin';

const protocolDir = fileURLToPath(new URL('./protocol', import.meta.url));

export default defineConfig({
  test: {
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
