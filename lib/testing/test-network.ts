import type { WebRequestDetails, WebRequestEvents } from '../fetcher/network-monitor';

type Listener = (details: WebRequestDetails) => void;

function fakeEvent() {
  const listeners: Listener[] = [];
  return {
    addListener(callback: Listener) {
      listeners.push(callback);
    },
    emit(details: WebRequestDetails) {
      for (const listener of listeners) listener(details);
    },
  };
}

export interface TestNetworkOptions {
  /** Where every request really goes (a local HTTP server started by the test). */
  upstream: string;
  /** The address each host name "resolves" to, as webRequest reports it; unknown hosts fail to resolve. */
  addresses: Record<string, string>;
  /** The extension's origin, reported as the initiator of its requests. */
  extensionOrigin: string;
  /** The network rules: a URL for which this says true is blocked before it is sent. */
  isBlocked?: (url: string) => boolean;
  /** Delay of webRequest events after what they report (Chrome delivers them asynchronously). */
  eventDelayMs?: number;
}

/**
 * For tests only: the browser's network as the fetcher sees it, over a real local HTTP server.
 * Host names map to made-up addresses (so DNS rebinding can be staged), redirects are followed
 * hop by hop with webRequest-like events for the network monitor, blocked URLs fail as
 * `net::ERR_BLOCKED_BY_CLIENT` without reaching the server, and the abort signal is honoured.
 */
export function createTestNetwork(options: TestNetworkOptions) {
  const events = {
    onBeforeRequest: fakeEvent(),
    onBeforeRedirect: fakeEvent(),
    onResponseStarted: fakeEvent(),
    onErrorOccurred: fakeEvent(),
  };
  /** Every URL whose request reached the upstream server. */
  const sent: string[] = [];
  /** Every RequestInit the page fetcher passed. */
  const inits: RequestInit[] = [];
  let nextId = 1;
  const later = (emit: () => void) => {
    if (options.eventDelayMs === undefined) queueMicrotask(emit);
    else setTimeout(emit, options.eventDelayMs);
  };

  const fetch = async (input: string, init: RequestInit): Promise<Response> => {
    inits.push(init);
    const requestId = String(nextId++);
    const base = { requestId, tabId: -1, method: init.method ?? 'GET', initiator: options.extensionOrigin };
    let url = new URL(input).href;
    for (let hops = 0; ; hops += 1) {
      init.signal?.throwIfAborted();
      const current = url;
      events.onBeforeRequest.emit({ ...base, url: current });
      const fail = (error: string) => {
        later(() => events.onErrorOccurred.emit({ ...base, url: current, error }));
        return new TypeError('Failed to fetch');
      };
      if (hops > 20) throw fail('net::ERR_TOO_MANY_REDIRECTS');
      if (options.isBlocked?.(current)) throw fail('net::ERR_BLOCKED_BY_CLIENT');
      const parsed = new URL(current);
      const ip = options.addresses[parsed.hostname];
      if (ip === undefined) throw fail('net::ERR_NAME_NOT_RESOLVED');
      sent.push(current);
      const upstream = await globalThis.fetch(`${options.upstream}${parsed.pathname}${parsed.search}`, {
        headers: init.headers,
        signal: init.signal,
        redirect: 'manual',
      });
      const location = upstream.headers.get('location');
      if (upstream.status >= 300 && upstream.status < 400 && location) {
        await upstream.body?.cancel();
        url = new URL(location, current).href;
        const redirectUrl = url;
        later(() => events.onBeforeRedirect.emit({ ...base, url: current, redirectUrl, ip }));
        continue;
      }
      later(() => events.onResponseStarted.emit({ ...base, url: current, ip }));
      const response = new Response(upstream.body, { status: upstream.status, headers: upstream.headers });
      Object.defineProperty(response, 'url', { value: current });
      return response;
    }
  };

  return { fetch, events: events satisfies WebRequestEvents, sent, inits };
}
