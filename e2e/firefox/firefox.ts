import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/** The Firefox test build: `wxt build -b firefox` with GLEANER_TEST_ORIGINS set (see e2e/README.md). */
export const firefoxExtensionDir = fileURLToPath(new URL('../../.output/test/firefox-mv2', import.meta.url));

/** The add-on id the manifest names (wxt.config.ts, browser_specific_settings.gecko.id). */
const addonId = 'gleaner@gleaner.dev';

/**
 * The moz-extension:// host Firefox gives the add-on. Firefox picks a random one per profile unless
 * the profile maps the add-on id to one beforehand (the pref below), so the test knows its pages' URLs.
 */
const extensionUuid = '6f1c5a3e-0d2b-4c1e-9a7e-5b3f2d1c0a99';
const extensionOrigin = `moz-extension://${extensionUuid}`;

/** Debian's firefox-esr unless GLEANER_FIREFOX names another; undefined when there is none. */
export function firefoxExecutable(): string | undefined {
  if (process.env.GLEANER_FIREFOX) return process.env.GLEANER_FIREFOX;
  return existsSync('/usr/bin/firefox-esr') ? '/usr/bin/firefox-esr' : undefined;
}

export interface FirefoxWithExtension {
  browser: Browser;
  /** Opens one of the extension's pages (e.g. 'options.html') in a new tab, loaded. */
  openPage(path: string): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Starts headless Firefox over WebDriver BiDi (no geckodriver) on a fresh profile and installs the
 * built add-on as a temporary add-on, as about:debugging would.
 */
export async function launchFirefoxWithExtension(
  executablePath: string,
  prefs: Record<string, string | number | boolean> = {},
): Promise<FirefoxWithExtension> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath,
    headless: true,
    dumpio: !!process.env.HX_DUMP,
    // WebDriver BiDi refuses to navigate to moz-extension:// pages without it: they are not web pages.
    args: ['--remote-allow-system-access'],
    extraPrefsFirefox: {
      'extensions.webextensions.uuids': JSON.stringify({ [addonId]: extensionUuid }),
      // No outside network on these machines: keep Firefox from dialing out to its own services.
      'browser.region.network.url': '',
      'browser.search.geoip.url': '',
      'extensions.getAddons.cache.enabled': false,
      'extensions.update.enabled': false,
      'network.connectivity-service.enabled': false,
      'network.captive-portal-service.enabled': false,
      'app.normandy.enabled': false,
      'messaging-system.rsexperimentloader.enabled': false,
      'datareporting.policy.dataSubmissionEnabled': false,
      'toolkit.telemetry.enabled': false,
      'browser.safebrowsing.malware.enabled': false,
      'browser.safebrowsing.phishing.enabled': false,
      'browser.safebrowsing.downloads.enabled': false,
      ...prefs,
    },
  });
  try {
    const installed = await browser.installExtension(firefoxExtensionDir);
    if (installed !== addonId) throw new Error(`Firefox installed the add-on as ${installed}, expected ${addonId}`);
  } catch (error) {
    await browser.close();
    throw error;
  }
  return {
    browser,
    openPage: async (path) => {
      const page = await browser.newPage();
      const url = `${extensionOrigin}/${path}`;
      // Firefox loads extension pages in the extension process, and its BiDi then reports no load event
      // for them: start the navigation without waiting for it, and wait for the document instead.
      page.goto(url, { timeout: 10_000 }).catch(() => {});
      await waitForDocument(page, url, 15_000);
      return page;
    },
    close: () => browser.close(),
  };
}

/**
 * Polls until `page` shows `url` fully loaded. Not `waitForFunction`: a poll that lands while the old
 * document is being replaced makes Firefox's BiDi answer with a protocol error ("right-hand side of
 * 'in' should be an object, got null"), which ends puppeteer's wait at once; here it is just a miss.
 */
async function waitForDocument(page: Page, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      // A poll may also hang while the document is swapped: give each one a second, not the protocol's 3 minutes.
      const loaded = await Promise.race([
        page.evaluate((expected) => location.href === expected && document.readyState === 'complete', url),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 1_000)),
      ]);
      if (loaded) return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not finish loading within ${timeoutMs} ms`, { cause: lastError });
}
