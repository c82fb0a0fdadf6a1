/**
 * The only headers a page fetch sends (DESIGN §4): nothing the server or a campaign supplies. The
 * language is fixed rather than the person's own, so every device gets the same version of a page
 * (their text hashes are compared) and the request says nothing about who sent it.
 */
export const pageAccept = 'text/html,text/plain;q=0.9';
export const pageRequestHeaders: Readonly<Record<string, string>> = {
  accept: pageAccept,
  'accept-language': 'en;q=1.0, *;q=0.5',
};

/**
 * How every page is requested: GET, without cookies or HTTP auth (`credentials: 'omit'`), never
 * from or into the cache, no referrer, redirects followed by the browser (each hop is guarded by
 * the network rules and the webRequest monitor, see `network-rules.ts` and `network-monitor.ts`).
 * An image for the popup is requested the same way, with its own Accept.
 */
export function pageRequestInit(signal: AbortSignal, accept: string = pageAccept): RequestInit {
  return {
    method: 'GET',
    headers: { ...pageRequestHeaders, accept },
    credentials: 'omit',
    cache: 'no-store',
    redirect: 'follow',
    referrerPolicy: 'no-referrer',
    signal,
  };
}
