/**
 * The only headers a page fetch sends (DESIGN §4): nothing the server or a campaign supplies. The
 * language is fixed rather than the person's own, so every device gets the same version of a page
 * (their text hashes are compared) and the request says nothing about who sent it.
 */
export const pageRequestHeaders: Readonly<Record<string, string>> = {
  accept: 'text/html,text/plain;q=0.9',
  'accept-language': 'en;q=1.0, *;q=0.5',
};

/**
 * How every page is requested: GET, without cookies or HTTP auth (`credentials: 'omit'`), never
 * from or into the cache, no referrer, redirects followed by the browser (each hop is guarded by
 * the network rules and the webRequest monitor, see `network-rules.ts` and `network-monitor.ts`).
 */
export function pageRequestInit(signal: AbortSignal): RequestInit {
  return {
    method: 'GET',
    headers: { ...pageRequestHeaders },
    credentials: 'omit',
    cache: 'no-store',
    redirect: 'follow',
    referrerPolicy: 'no-referrer',
    signal,
  };
}
