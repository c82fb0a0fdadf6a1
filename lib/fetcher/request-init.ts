import { pageAccept, pageRequestHeaders } from '@protocol/extract/page-rules';

// The headers live in protocol/: the server's own fetch of a page sends the same ones (DESIGN §4).
export { pageAccept };

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
