import { charsetOf } from './page-rules';

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

/**
 * What windows-1252 (the encoding of the labels `latin1`, `iso-8859-1`, `ascii`, `cp1252`…) maps
 * bytes 0x80–0x9F to, from the WHATWG Encoding Standard's index; every other byte is its own code point.
 */
const windows1252C1 = [
  0x20ac, 0x81, 0x201a, 0x192, 0x201e, 0x2026, 0x2020, 0x2021, 0x2c6, 0x2030, 0x160, 0x2039, 0x152, 0x8d, 0x17d, 0x8f,
  0x90, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x2dc, 0x2122, 0x161, 0x203a, 0x153, 0x9d, 0x17e, 0x178,
];

/** Code units turned into a string a chunk at a time (an argument list has a length limit). */
const chunkUnits = 8_192;

export function decodeWindows1252(bytes: Uint8Array): string {
  const units = new Uint16Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 1) {
    const byte = bytes[i] as number;
    units[i] = byte >= 0x80 && byte < 0xa0 ? (windows1252C1[byte - 0x80] as number) : byte;
  }
  const parts: string[] = [];
  for (let i = 0; i < units.length; i += chunkUnits) {
    parts.push(String.fromCharCode(...units.subarray(i, i + chunkUnits)));
  }
  return parts.join('');
}

/**
 * The decoder of a charset label, null when the label is unknown. Node ≥ 20.18.3 decodes windows-1252
 * as Latin-1, turning €, curly quotes and dashes into C1 controls (nodejs/node#60888); browsers follow
 * the standard. That encoding is decoded from its table here, so both sides agree on pages that
 * declare any of its labels, the most common legacy charset of the web. Node's ICU still differs from
 * the browsers on rare bytes of rarer charsets (koi8-u 0xAE, undefined bytes of windows-874/1253/1255,
 * control bytes of ibm866 and shift_jis, invalid CJK sequences) and lacks iso-8859-16 and x-user-defined
 * (read as UTF-8 here): the server's copy of such a page may differ by those characters.
 */
function decoderFor(label: string): ((bytes: Uint8Array) => string) | null {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label);
  } catch {
    return null;
  }
  if (decoder.encoding === 'windows-1252') return decodeWindows1252;
  return (bytes) => decoder.decode(bytes);
}

/**
 * Decodes a page body as a browser would: a byte-order mark first, then the Content-Type charset,
 * then (HTML only) a `<meta charset>` near the top, else UTF-8. Unknown labels fall back to UTF-8;
 * bytes that do not decode become U+FFFD. The same code runs in the extension and on the server, so
 * both decode the same bytes to the same string (see `decoderFor` for the one place they differed).
 */
export function decodeBody(bytes: Uint8Array, contentType: string | null, isHtml: boolean): string {
  const candidates = [bomCharset(bytes), charsetOf(contentType), isHtml ? metaCharset(bytes) : null];
  for (const label of candidates) {
    const decode = label ? decoderFor(label) : null;
    if (decode) return decode(bytes);
  }
  return new TextDecoder('utf-8').decode(bytes);
}
