import { defineConfig } from '@playwright/test';

/**
 * End-to-end tests: the real server, the built extension, Debian's Chromium.
 * One worker: each spec launches its own browser and server, and these machines have 2 cores.
 */
export default defineConfig({
  testDir: './e2e',
  testMatch: '*.spec.ts',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 120_000,
  expect: { timeout: 15_000 },
  reporter: 'list',
  use: { trace: 'retain-on-failure' },
  outputDir: 'test-results',
});
