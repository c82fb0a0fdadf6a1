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

/** The part of Firefox's `browser.webRequest` the guard needs. */
export interface BlockingWebRequest {
  onBeforeRequest: {
    addListener(
      callback: (details: BlockingRequestDetails) => { cancel?: boolean },
      filter: { urls: string[]; tabId?: number },
      extraInfoSpec: ['blocking'],
    ): void;
  };
}

/**
 * Firefox (MV2) still has blocking webRequest, so there the whole URL guard runs on every request
 * and redirect hop of the background page before it is sent: the equivalent of Chrome's
 * declarativeNetRequest rules, and stricter. Until the server address is known, only what the
 * guard allows passes.
 */
export function setupRequestGuard(
  webRequest: BlockingWebRequest,
  options: { extensionOrigin: string; policy: NetworkPolicy },
): { setServerUrl(serverUrl: string): void } {
  let serverUrl: string | null = null;
  webRequest.onBeforeRequest.addListener(
    (details) => {
      if (details.tabId !== -1 || !details.originUrl?.startsWith(`${options.extensionOrigin}/`)) return {};
      return shouldCancelRequest(details.url, serverUrl, options.policy) ? { cancel: true } : {};
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
