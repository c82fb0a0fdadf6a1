import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, test as base, chromium } from '@playwright/test';
import { chromiumExecutable, quietChromiumArgs } from './chromium';
import { type RunningServer, startGleanerServer } from './gleaner-server';

/** The built extension: `npm run test:e2e` builds it before Playwright starts. */
export const extensionDir = fileURLToPath(new URL('../.output/test/chrome-mv3', import.meta.url));

/**
 * Launches Chromium with the built extension loaded, on a profile folder that may be reused;
 * `dir` loads another unpacked build (the demo's).
 */
export async function launchWithExtension(userDataDir: string, dir = extensionDir): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumExecutable(),
    headless: true,
    args: [...quietChromiumArgs, `--disable-extensions-except=${dir}`, `--load-extension=${dir}`],
  });
}

/** The extension id is the host of its service worker's URL. */
export async function extensionIdOf(context: BrowserContext): Promise<string> {
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
  return new URL(worker.url()).host;
}

interface WorkerFixtures {
  gleanerServer: RunningServer;
}

interface TestFixtures {
  context: BrowserContext;
  extensionId: string;
}

/** One server and one browser per spec file, as the 2-core machines need. */
export const test = base.extend<TestFixtures, WorkerFixtures>({
  gleanerServer: [
    // biome-ignore lint/correctness/noEmptyPattern: Playwright fixtures take their dependencies as a destructured first argument.
    async ({}, use) => {
      const server = await startGleanerServer();
      await use(server);
      await server.stop();
    },
    { scope: 'worker' },
  ],
  // biome-ignore lint/correctness/noEmptyPattern: as above.
  context: async ({}, use) => {
    const userDataDir = await mkdtemp(join(tmpdir(), 'gleaner-profile-'));
    const context = await launchWithExtension(userDataDir);
    await use(context);
    await context.close();
    await rm(userDataDir, { recursive: true, force: true });
  },
  extensionId: async ({ context }, use) => {
    await use(await extensionIdOf(context));
  },
});

export const expect = test.expect;
