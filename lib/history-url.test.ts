import { describe, expect, it } from 'vitest';
import { shortenUrl } from './history-url';

describe('shortening fetch log addresses', () => {
  it('leaves an address that fits as it is', () => {
    expect(shortenUrl('https://example.com/a?b=c')).toBe('https://example.com/a?b=c');
  });

  it('keeps the host and the end of a long address, cut in the middle after a separator', () => {
    const url =
      'https://news.example.org/2025/04/10/politics/a-very-long-article-title-about-something-important?utm_source=feed&id=42';
    const shown = shortenUrl(url, 64);
    expect(shown.length).toBeLessThanOrEqual(64);
    expect(shown.startsWith('https://news.example.org…')).toBe(true);
    expect(shown.endsWith('&id=42')).toBe(true);
    expect(shown.split('…')).toHaveLength(2);
    // What follows the ellipsis starts at a separator, so no word is shown from its middle.
    expect(shown.split('…')[1]).toMatch(/^[/?&=\-_.]/);
    expect(url.endsWith(shown.split('…')[1] ?? '')).toBe(true);
  });

  it('cuts at the end when the host alone nearly fills the line, or the text is no address', () => {
    const longHost = `https://${'sub.'.repeat(20)}example.com/page`;
    const shown = shortenUrl(longHost, 64);
    expect(shown.endsWith('…')).toBe(true);
    expect(shown.length).toBeLessThanOrEqual(64);
    expect(longHost.startsWith(shown.slice(0, -1))).toBe(true);
    const text = `not a url ${'word '.repeat(30)}`;
    expect(shortenUrl(text, 40).length).toBeLessThanOrEqual(40);
    expect(shortenUrl(text, 40).endsWith('…')).toBe(true);
  });
});
