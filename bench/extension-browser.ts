import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium } from '@playwright/test';
import { chromiumExecutable, quietChromiumArgs } from '../e2e/chromium';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/**
 * The Chrome build to measure: GLEANER_BENCH_EXTENSION_DIR when set (an existing build), else the
 * production build, made now so the figures are those of the code in the tree.
 */
export function extensionBuildDir(): string {
  const given = process.env.GLEANER_BENCH_EXTENSION_DIR;
  if (given) return given;
  execFileSync('npx', ['wxt', 'build'], { cwd: repoRoot, stdio: 'ignore' });
  const built = join(repoRoot, '.output/chrome-mv3');
  if (!existsSync(join(built, 'manifest.json'))) throw new Error(`No extension build in ${built}.`);
  return built;
}

/** Chromium with the extension loaded on a fresh profile, as the e2e tests launch it. */
export async function launchExtensionBrowser(
  extensionDir: string,
): Promise<{ context: BrowserContext; extensionId: string; profile: string }> {
  const profile = await mkdtemp(join(tmpdir(), 'gleaner-bench-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumExecutable(),
    headless: true,
    args: [...quietChromiumArgs, `--disable-extensions-except=${extensionDir}`, `--load-extension=${extensionDir}`],
  });
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
  return { context, extensionId: new URL(worker.url()).host, profile };
}

/** Agrees on the options page with `serverUrl` and waits until the popup's state says Connected. */
export async function consentWith(context: BrowserContext, extensionId: string, serverUrl: string): Promise<void> {
  const page = await context.newPage();
  await page.goto(`chrome-extension://${extensionId}/options.html`);
  await page.getByTestId('server-url').fill(serverUrl);
  await page.getByTestId('consent-accept').click();
  await page.goto(`chrome-extension://${extensionId}/popup.html`);
  await page.getByTestId('status').filter({ hasText: 'Connected' }).waitFor({ timeout: 60_000 });
  await page.close();
}
