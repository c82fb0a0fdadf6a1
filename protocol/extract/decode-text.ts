import { charsetOf } from './response-checks';

/** How far into an HTML page a `<meta charset>` is looked for (the HTML spec's prescan length). */
const prescanBytes = 1024;

function bomCharset(bytes: Uint8Array): string | null {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return 'utf-8';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  return null;
}

function metaCharset(bytes: Uint8Array): string | null {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, prescanBytes));
  const match = /<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_:.-]+)/i.exec(head);
  return match?.[1] ? match[1].toLowerCase() : null;
}

function decoderFor(label: string): TextDecoder | null {
  try {
    return new TextDecoder(label);
  } catch {
    return null;
  }
}

/**
 * Decodes a page body as a browser would: a byte-order mark first, then the Content-Type charset,
 * then (HTML only) a `<meta charset>` near the top, else UTF-8. Unknown labels fall back to UTF-8;
 * bytes that do not decode become U+FFFD.
 */
export function decodeBody(bytes: Uint8Array, contentType: string | null, isHtml: boolean): string {
  const candidates = [bomCharset(bytes), charsetOf(contentType), isHtml ? metaCharset(bytes) : null];
  for (const label of candidates) {
    const decoder = label ? decoderFor(label) : null;
    if (decoder) return decoder.decode(bytes);
  }
  return new TextDecoder('utf-8').decode(bytes);
}
