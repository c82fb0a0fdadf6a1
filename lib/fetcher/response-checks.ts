/** The content types whose pages are kept; anything else is dropped unread. */
export const keptMediaTypes: readonly string[] = ['text/html', 'text/plain'];

/** The media type of a Content-Type header, lower-case and without parameters; null when absent. */
export function mediaTypeOf(contentType: string | null): string | null {
  const essence = contentType?.split(';')[0]?.trim().toLowerCase();
  return essence ? essence : null;
}

/** The charset parameter of a Content-Type header, lower-case, without quotes; null when absent. */
export function charsetOf(contentType: string | null): string | null {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return match?.[1] ? match[1].toLowerCase() : null;
}

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
