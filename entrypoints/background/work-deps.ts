import { browser } from 'wxt/browser';
import { extractHtml } from '@/lib/extract/extract-page';
import { fetchImage } from '@/lib/fetcher/fetch-image';
import { fetchPage } from '@/lib/fetcher/fetch-page';
import { createNetworkMonitor } from '@/lib/fetcher/network-monitor';
import { buildNetworkRules, installSessionRules } from '@/lib/fetcher/network-rules';
import { type BlockingWebRequest, setupRequestGuard } from '@/lib/fetcher/request-guard';
import { readSettings } from '@/lib/settings';
import { buildTestOrigins } from '@/lib/test-origins';
import type { BackgroundContext } from './context';
import { closeOffscreenDocument, extractInOffscreenDocument } from './extractor';
import type { WorkDeps } from './work';

/**
 * The real scraping dependencies. Call it inside `defineBackground`: it adds the webRequest
 * listeners (and on Firefox the blocking guard) at once, so no event of a fetch is missed.
 * Chrome guards redirect hops with declarativeNetRequest session rules and extracts in an
 * offscreen document; Firefox (MV2) guards with blocking webRequest and extracts in its
 * background page, which has a DOM.
 */
export function createWorkDeps(ctx: BackgroundContext): WorkDeps {
  const policy = { allowedTestOrigins: buildTestOrigins };
  const extensionOrigin = new URL(browser.runtime.getURL('/')).origin;
  const monitor = createNetworkMonitor(browser.webRequest, { extensionOrigin, policy });
  const common = {
    fetchPage: (request: Parameters<WorkDeps['fetchPage']>[0]) =>
      fetchPage(request, { fetch: ctx.fetch, monitor, policy, now: ctx.now }),
    fetchImage: (url: string) => fetchImage(url, { fetch: ctx.fetch, monitor, policy, now: ctx.now }),
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    random: () => Math.random(),
    newBatchId: () => crypto.randomUUID(),
  };

  if (import.meta.env.FIREFOX) {
    // Firefox lets a blocking listener answer with a promise; the shared typings (Chrome's) do not say so.
    const firefoxWebRequest = browser.webRequest as unknown as BlockingWebRequest;
    const guard = setupRequestGuard(firefoxWebRequest, {
      extensionOrigin,
      policy,
      loadServerUrl: async () => (await readSettings(ctx.db)).serverUrl,
    });
    return {
      ...common,
      extract: async (input) => extractHtml(input),
      prepareNetwork: async (serverUrl) => guard.setServerUrl(serverUrl),
      release: async () => {},
    };
  }

  // Session rules outlive a worker but not the browser: install once per worker, again when the server changes.
  let installedFor: string | null = null;
  return {
    ...common,
    extract: extractInOffscreenDocument,
    async prepareNetwork(serverUrl) {
      if (installedFor === serverUrl) return;
      const rules = buildNetworkRules({
        extensionId: browser.runtime.id,
        allowedTestOrigins: policy.allowedTestOrigins,
        serverUrl,
      });
      await installSessionRules(browser.declarativeNetRequest, rules);
      installedFor = serverUrl;
    },
    release: closeOffscreenDocument,
  };
}
