import type { FetchFailure } from './fetch-failure';
import { judgeConnectedIp, judgeRedirect, type NetworkPolicy } from './network-verdicts';

/** The fields of webRequest event details that the monitor reads (Chrome and Firefox). */
export interface WebRequestDetails {
  requestId: string;
  url: string;
  tabId: number;
  method?: string;
  /** Chrome: the origin that made the request, `chrome-extension://<id>` for ours. */
  initiator?: string;
  /** Firefox: the document that made the request, our background page for ours. */
  originUrl?: string;
  /**
   * The address connected to (onBeforeRedirect, onResponseStarted). Chrome leaves it out when it
   * knows none; Firefox sends null (its ChannelWrapper's remoteAddress is nullable).
   */
  ip?: string | null;
  redirectUrl?: string;
  error?: string;
}

// Returns undefined rather than void so `browser.webRequest` (whose onBeforeRequest may return a blocking response) fits.
type Listener = (details: WebRequestDetails) => undefined;

export interface RequestFilter {
  urls: string[];
  tabId?: number;
}

interface WebRequestEvent {
  addListener(callback: Listener, filter: RequestFilter): void;
}

/** The webRequest events the monitor listens to: `browser.webRequest` in the extension, a fake in tests. */
export interface WebRequestEvents {
  onBeforeRequest: WebRequestEvent;
  onBeforeRedirect: WebRequestEvent;
  onResponseStarted: WebRequestEvent;
  onErrorOccurred: WebRequestEvent;
}

/** What the browser reported about one page fetch. */
export interface Observation {
  /** Whether the browser reported the request at all. */
  seen: boolean;
  /** Redirects followed so far. */
  hops: number;
  /** The address the final response came from. */
  ip: string | undefined;
  /** The net error that ended the request, e.g. `net::ERR_BLOCKED_BY_CLIENT`. */
  error: string | undefined;
  /** The first rule the network broke (a hop or the connected address); the fetch was aborted for it. */
  violation: FetchFailure | null;
}

export interface NetworkWatch {
  /** Resolves once the response started or the request failed, or after `timeoutMs`, with what was seen. */
  settled(timeoutMs: number): Promise<Observation>;
  /** Stops watching; later events of the request are ignored. */
  dispose(): void;
}

export interface NetworkMonitor {
  /**
   * Watches the next request this extension makes for `url` (the fetch must start after this
   * call) through its redirects; `onViolation` is called once, as soon as a hop or the
   * connected address breaks the rules, so the caller can abort the fetch.
   */
  watch(url: string, onViolation: (failure: FetchFailure) => void): NetworkWatch;
}

interface Watcher {
  url: string;
  observation: Observation;
  settled: boolean;
  onViolation: (failure: FetchFailure) => void;
  wake: Array<() => void>;
}

function sameUrl(a: string, b: string): boolean {
  if (a === b) return true;
  return URL.canParse(a) && URL.canParse(b) && new URL(a).href === new URL(b).href;
}

/** Only requests without a tab (background), over http(s): the rest of the browser never wakes the worker. */
export const monitoredRequests: RequestFilter = { urls: ['http://*/*', 'https://*/*'], tabId: -1 };

/**
 * Follows this extension's own page fetches through webRequest (observation only in MV3): counts
 * redirect hops and judges each hop's target and the address actually connected to. Its listeners
 * are added once, when the background starts, so no event of a fetch is missed.
 */
export function createNetworkMonitor(
  events: WebRequestEvents,
  options: { extensionOrigin: string; policy: NetworkPolicy },
): NetworkMonitor {
  const unclaimed: Watcher[] = [];
  const byRequestId = new Map<string, Watcher>();
  const isOurs = (details: WebRequestDetails) =>
    details.tabId === -1 &&
    (details.initiator === options.extensionOrigin ||
      (details.originUrl?.startsWith(`${options.extensionOrigin}/`) ?? false));

  const settle = (watcher: Watcher) => {
    watcher.settled = true;
    for (const wake of watcher.wake.splice(0)) wake();
  };
  const violate = (watcher: Watcher, failure: FetchFailure | null) => {
    if (!failure || watcher.observation.violation) return;
    watcher.observation.violation = failure;
    watcher.onViolation(failure);
  };

  events.onBeforeRequest.addListener((details) => {
    // Redirected requests come through here again with the same id: they stay with their watcher.
    if (!isOurs(details) || byRequestId.has(details.requestId)) return;
    const index = unclaimed.findIndex((watcher) => sameUrl(watcher.url, details.url));
    const watcher = unclaimed[index];
    if (!watcher) return;
    unclaimed.splice(index, 1);
    watcher.observation.seen = true;
    byRequestId.set(details.requestId, watcher);
  }, monitoredRequests);

  events.onBeforeRedirect.addListener((details) => {
    const watcher = byRequestId.get(details.requestId);
    if (!watcher) return;
    watcher.observation.hops += 1;
    const hop = {
      count: watcher.observation.hops,
      fromUrl: details.url,
      redirectUrl: details.redirectUrl ?? '',
      ip: details.ip ?? undefined,
    };
    violate(watcher, judgeRedirect(hop, options.policy));
  }, monitoredRequests);

  events.onResponseStarted.addListener((details) => {
    const watcher = byRequestId.get(details.requestId);
    if (!watcher) return;
    watcher.observation.ip = details.ip ?? undefined;
    violate(watcher, judgeConnectedIp(details.url, watcher.observation.ip, options.policy));
    settle(watcher);
  }, monitoredRequests);

  events.onErrorOccurred.addListener((details) => {
    const watcher = byRequestId.get(details.requestId);
    if (!watcher) return;
    watcher.observation.error = details.error;
    settle(watcher);
  }, monitoredRequests);

  return {
    watch(url, onViolation) {
      const watcher: Watcher = {
        url,
        observation: { seen: false, hops: 0, ip: undefined, error: undefined, violation: null },
        settled: false,
        onViolation,
        wake: [],
      };
      unclaimed.push(watcher);
      return {
        settled(timeoutMs) {
          const snapshot = () => ({ ...watcher.observation });
          if (watcher.settled) return Promise.resolve(snapshot());
          return new Promise<Observation>((resolve) => {
            const timer = setTimeout(() => resolve(snapshot()), timeoutMs);
            watcher.wake.push(() => {
              clearTimeout(timer);
              resolve(snapshot());
            });
          });
        },
        dispose() {
          const index = unclaimed.indexOf(watcher);
          if (index >= 0) unclaimed.splice(index, 1);
          for (const [id, entry] of byRequestId) if (entry === watcher) byRequestId.delete(id);
          settle(watcher);
        },
      };
    },
  };
}
