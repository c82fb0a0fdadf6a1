// The content-type rules live in protocol/ so that the server keeps and decodes exactly the pages the extension does.
export { charsetOf, keptMediaTypes, mediaTypeOf } from '@protocol/extract/page-rules';

/** Longest wait a site may ask for; beyond it the server's own back-off takes over. */
const maxRetryAfterSeconds = 86_400;

/**
 * A Retry-After header in whole seconds from `now`: either delay-seconds or an HTTP date.
 * Null when absent or unreadable; never negative.
 */
export function retryAfterSecondsOf(header: string | null, now: number): number | null {
  const value = header?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Math.min(Number(value), maxRetryAfterSeconds);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, Math.ceil((at - now) / 1000)), maxRetryAfterSeconds);
}
