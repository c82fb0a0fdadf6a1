import { describe, expect, it } from 'vitest';
import { normalizeText } from '../results';
import { extractBody } from './extract-body';
import { ExtractionError } from './extract-page';
import { fixturePages } from './fixture-pages';

// The extension's test project: happy-dom's DOMParser stands for the browser's.
const dom = { parseHtml: (html: string) => new DOMParser().parseFromString(html, 'text/html') };
const origin = 'https://site.example';
const utf8 = (text: string) => new TextEncoder().encode(text);

describe('extractBody', () => {
  it.each(fixturePages)('reads the main text of the $name', (page) => {
    const extracted = extractBody(
      { bytes: page.body, contentType: page.contentType, finalUrl: `${origin}${page.path}` },
      { ...dom, collectLinks: false },
    );
    const text = normalizeText(extracted.text);
    for (const phrase of page.mustInclude) expect(text).toContain(normalizeText(phrase));
    for (const phrase of page.mustExclude) expect(text).not.toContain(phrase);
    expect(extracted.links).toEqual([]);
  });

  it('decodes a page by its <meta charset>: curly quotes, dashes and the euro sign of windows-1252 survive', () => {
    const page = fixturePages.find((fixture) => fixture.name.includes('windows-1252'));
    if (!page) throw new Error('no windows-1252 fixture');
    const extracted = extractBody(
      { bytes: page.body, contentType: page.contentType, finalUrl: `${origin}${page.path}` },
      { ...dom, collectLinks: false },
    );
    expect(extracted.title).toBe('Café notes – Crème brûlée à la façon de Zoë');
    expect(extracted.text).toContain('des œufs… non, pas d’œufs entiers');
    expect(extracted.text).not.toMatch(/[\u0080-\u009f]/);
  });

  it('reads title, language, canonical URL and same-origin links as the extension keeps them', () => {
    const page = fixturePages.find((fixture) => fixture.name.startsWith('documentation'));
    if (!page) throw new Error('no documentation fixture');
    const extracted = extractBody(
      { bytes: page.body, contentType: page.contentType, finalUrl: `${origin}${page.path}` },
      { ...dom, collectLinks: true },
    );
    expect(extracted.title).toBe('Installing the tide gauge — Gauge documentation');
    expect(extracted.lang).toBe('en-US');
    expect(extracted.canonicalUrl).toBe(`${origin}/docs/v2/install`);
    expect(extracted.links).toContain(`${origin}/docs/api/index`);
    expect(extracted.links).toContain(`${origin}/docs/v2/reference`);
    expect(extracted.links).not.toContain('https://other.example/x');
  });

  it('drops NUL characters and mends lone surrogates before extracting, as the server stores text', () => {
    const plain = extractBody(
      { bytes: utf8('one\u0000two \ud800 three'), contentType: 'text/plain', finalUrl: `${origin}/a.txt` },
      { ...dom, collectLinks: false },
    );
    expect(plain.text).toBe('onetwo \ufffd three');
  });

  it('cuts the text to the result format’s 5,000,000 characters', () => {
    const extracted = extractBody(
      { bytes: utf8('x'.repeat(5_000_010)), contentType: 'text/plain; charset=utf-8', finalUrl: `${origin}/big.txt` },
      { ...dom, collectLinks: false },
    );
    expect(extracted.text).toHaveLength(5_000_000);
  });

  it('fails a page without readable text', () => {
    const empty = { bytes: utf8('<html><body><script>1</script></body></html>'), contentType: 'text/html' };
    expect(() => extractBody({ ...empty, finalUrl: `${origin}/` }, { ...dom, collectLinks: false })).toThrow(
      ExtractionError,
    );
  });
});
