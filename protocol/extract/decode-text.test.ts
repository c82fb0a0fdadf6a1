import { describe, expect, it } from 'vitest';
import { decodeBody } from './decode-text';

/** Bytes 0x80–0x9F as windows-1252 reads them (WHATWG Encoding Standard, index-windows-1252). */
const windows1252High = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008dŽ\u008f\u0090‘’“”•–—˜™š›œ\u009džŸ';

const bytesOf = (...values: number[]) => Uint8Array.from(values);

describe('decodeBody', () => {
  it('reads windows-1252 by the standard for every label of it, where Node ≥ 20.18.3 reads Latin-1', () => {
    const high = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
    for (const label of ['windows-1252', 'cp1252', 'latin1', 'ISO-8859-1', 'ascii', 'us-ascii']) {
      expect(decodeBody(high, `text/html; charset=${label}`, true)).toBe(windows1252High);
      expect(decodeBody(high, `text/plain; charset="${label}"`, false)).toBe(windows1252High);
    }
    const latin = bytesOf(0x43, 0x61, 0x66, 0xe9, 0x20, 0x93, 0x41, 0x94, 0x20, 0x80, 0xff);
    expect(decodeBody(latin, 'text/html; charset=iso-8859-1', true)).toBe('Café “A” €ÿ');
  });

  it('decodes a long windows-1252 body whole, not only its first chunk', () => {
    const bytes = new Uint8Array(50_000).fill(0x97);
    bytes[49_999] = 0x41;
    const text = decodeBody(bytes, 'text/plain; charset=windows-1252', false);
    expect(text).toHaveLength(50_000);
    expect(text.slice(-3)).toBe('——A');
  });

  it('takes a byte-order mark first, then the Content-Type charset, then a <meta charset>, else UTF-8', () => {
    const meta = new TextEncoder().encode('<meta charset="windows-1251">');
    const page = Uint8Array.from([...meta, 0xc4, 0xe0]);
    expect(decodeBody(page, 'text/html', true).endsWith('Да')).toBe(true);
    expect(decodeBody(page, 'text/html; charset=windows-1252', true).endsWith('Äà')).toBe(true);
    expect(decodeBody(Uint8Array.from([0xef, 0xbb, 0xbf, 0x68, 0x69]), 'text/html; charset=windows-1252', true)).toBe(
      'hi',
    );
    expect(decodeBody(Uint8Array.from([0xff, 0xfe, 0x68, 0x00]), null, false)).toBe('h');
    // A <meta> counts only in HTML; a plain-text page without a charset is UTF-8.
    expect(decodeBody(page, 'text/plain', false).endsWith('\ufffd\ufffd')).toBe(true);
  });

  it('falls back to UTF-8 for an unknown label and replaces bytes that do not decode', () => {
    expect(decodeBody(bytesOf(0x68, 0xc3, 0xa9, 0xff), 'text/html; charset=no-such-charset', true)).toBe('hé\ufffd');
  });
});
