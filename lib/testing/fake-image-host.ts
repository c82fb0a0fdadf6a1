import { fetchImage } from '../fetcher/fetch-image';
import type { NetworkMonitor } from '../fetcher/network-monitor';

/** A 1×1 PNG. */
export const tinyPng = Uint8Array.from(
  atob('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII='),
  (char) => char.charCodeAt(0),
);

interface ServedImage {
  status?: number;
  contentType: string;
  body: Uint8Array | string;
}

/**
 * For tests only: the real image fetcher (URL guard, content checks, byte cap) over a fake network
 * where every public host answers a 1×1 PNG unless told otherwise and connects from a public
 * address. `requested` lists every URL that reached the network, so a test sees what was never sent.
 */
export function createFakeImageHost(now: () => number = Date.now) {
  const requested: string[] = [];
  const served = new Map<string, ServedImage>();
  const fetch = async (input: string): Promise<Response> => {
    requested.push(input);
    const image = served.get(input) ?? { contentType: 'image/png', body: tinyPng };
    return new Response(image.body as BodyInit, {
      status: image.status ?? 200,
      headers: { 'content-type': image.contentType },
    });
  };
  const monitor: NetworkMonitor = {
    watch: () => ({
      settled: async () => ({ seen: true, hops: 0, ip: '93.184.216.34', error: undefined, violation: null }),
      dispose() {},
    }),
  };
  return {
    requested,
    /** What a URL answers instead of the PNG. */
    serve(url: string, image: ServedImage) {
      served.set(url, image);
    },
    fetchImage: (url: string) => fetchImage(url, { fetch, monitor, policy: { allowedTestOrigins: [] }, now }),
  };
}
