// What a page fetch asks for and keeps, the same for the extension (lib/fetcher/) and the server's own
// fetch of a page (server/src/verification/server-fetch.ts): both must get and keep the same version of a page.

/**
 * The only headers a page fetch sends (DESIGN §4; the server adds its user agent). The language is
 * fixed rather than the person's own, so every device and the server get the same version of a page
 * (their texts are compared) and the request says nothing about who sent it.
 */
export const pageAccept = 'text/html,text/plain;q=0.9';
export const pageRequestHeaders: Readonly<Record<string, string>> = {
  accept: pageAccept,
  'accept-language': 'en;q=1.0, *;q=0.5',
};

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
