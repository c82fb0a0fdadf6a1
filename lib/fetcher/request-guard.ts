import { checkUrl } from '@protocol/url-guard';
import type { NetworkPolicy } from './network-verdicts';

/**
 * Whether a request of this extension must be cancelled: anything the URL guard refuses, except
 * the Gleaner server's own API (a development server is a local address).
 */
export function shouldCancelRequest(url: string, serverUrl: string | null, policy: NetworkPolicy): boolean {
  if (serverUrl !== null && url.startsWith(`${serverUrl.replace(/\/+$/, '')}/v1/`)) return false;
  return !checkUrl(url, { allowedTestOrigins: policy.allowedTestOrigins }).ok;
}

interface BlockingRequestDetails {
  url: string;
  tabId: number;
  originUrl?: string;
}

type BlockingResponse = { cancel?: boolean };
// Firefox lets a blocking listener answer with a promise.
type GuardAnswer = BlockingResponse | Promise<BlockingResponse> | undefined;

/** The part of Firefox's `browser.webRequest` the guard needs. */
export interface BlockingWebRequest {
  onBeforeRequest: {
    addListener(
      callback: (details: BlockingRequestDetails) => GuardAnswer,
      filter: { urls: string[]; tabId?: number },
      extraInfoSpec: ['blocking'],
    ): void;
  };
}

/** How long a request waits for the stored server setting before it is judged without it. */
export const serverUrlWaitMs = 5_000;

/**
 * Firefox (MV2) still has blocking webRequest, so there the whole URL guard runs on every request
 * and redirect hop of the background page before it is sent: the equivalent of Chrome's
 * declarativeNetRequest rules, and stricter. Until the server address is known, only what the
 * guard allows passes.
 *
 * Firefox unloads the event page when idle and forgets the address set by the last sync; a page
 * that wakes it (the options page reading the points) may then call the server before any sync.
 * So a request the guard alone would cancel waits for `loadServerUrl` (the stored setting), read
 * once per page life: without it a server on this machine or the local network looks unreachable.
 */
export function setupRequestGuard(
  webRequest: BlockingWebRequest,
  options: { extensionOrigin: string; policy: NetworkPolicy; loadServerUrl: () => Promise<string | null> },
): { setServerUrl(serverUrl: string): void } {
  let serverUrl: string | null = null;
  // Bounded: a read that never answers (an IndexedDB open blocked by another version) would
  // otherwise hold every request of the background page for good; after the wait they are judged
  // as if no server were set (cancelled if the guard alone would cancel them).
  let timer: ReturnType<typeof setTimeout> | undefined;
  const gaveUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, serverUrlWaitMs);
  });
  const read = options.loadServerUrl().then(
    (stored) => {
      serverUrl ??= stored;
    },
    () => {},
  );
  read.finally(() => clearTimeout(timer));
  const loaded = Promise.race([read, gaveUp]);
  webRequest.onBeforeRequest.addListener(
    (details) => {
      if (details.tabId !== -1 || !details.originUrl?.startsWith(`${options.extensionOrigin}/`)) return {};
      if (!shouldCancelRequest(details.url, serverUrl, options.policy)) return {};
      if (serverUrl !== null) return { cancel: true };
      return loaded.then(() => (shouldCancelRequest(details.url, serverUrl, options.policy) ? { cancel: true } : {}));
    },
    { urls: ['http://*/*', 'https://*/*'], tabId: -1 },
    ['blocking'],
  );
  return {
    setServerUrl(url) {
      serverUrl = url;
    },
  };
}
