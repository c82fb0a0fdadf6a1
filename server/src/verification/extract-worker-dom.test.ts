import { extractBody } from '@protocol/extract/extract-body';
import { describe, expect, it } from 'vitest';
import { parseHtmlOnServer } from './extract-worker-dom';

// Where linkedom's own parser (htmlparser2) and the browser disagree, the server builds its tree with
// parse5, the HTML standard's algorithm. Expected texts are Chromium's DOMParser + the shared extractor.
describe('parseHtmlOnServer', () => {
  const extract = (html: string) =>
    extractBody(
      { bytes: new TextEncoder().encode(html), contentType: 'text/html', finalUrl: 'https://site.example/dir/page' },
      { parseHtml: parseHtmlOnServer, collectLinks: true },
    );

  it('reads a page that leaves out <html>, <head> and <body>, as HTML allows', () => {
    const page = extract('<!doctype html><title>Notes</title><p>No body element at all, just text that goes on');
    expect(page.title).toBe('Notes');
    expect(page.text).toBe('No body element at all, just text that goes on');
  });

  it('finds upper-case attributes and elements, as the parser lower-cases them', () => {
    const page = extract(
      '<HTML LANG="FR"><HEAD><LINK REL="CANONICAL" HREF="/canon"></HEAD><BODY><P>Texte.<A HREF="/next">suite</A></BODY></HTML>',
    );
    expect(page).toMatchObject({ lang: 'FR', canonicalUrl: 'https://site.example/canon' });
    expect(page.links).toEqual(['https://site.example/next']);
  });

  it('keeps text the parser moves into <body>: from <head>, after </html>, out of misnested tags', () => {
    expect(extract('<html><head><p>paragraph in head</p></head><body><p>body para</p></body></html>').text).toBe(
      'paragraph in head\n\nbody para',
    );
    expect(extract('<html><body><p>inside body</p></body></html><p>after html</p>').text).toBe(
      'inside body\n\nafter html',
    );
    expect(extract('<article><p>Two <b>x<p>new para in b</b> after</p></article>').text).toBe(
      'Two x\n\nnew para in b after',
    );
  });

  it('reads <noscript> as markup, as DOMParser does (scripting off), and leaves it out of the text', () => {
    const page = extract('<body><noscript><p>enable scripts</p></noscript><p>visible text</p></body>');
    expect(page.text).toBe('visible text');
  });

  it('builds a page nested thousands deep without recursion, at most 512 deep as Chromium does', () => {
    const depth = 5_000;
    const doc = parseHtmlOnServer(`<body>${'<div>'.repeat(depth)}deep text${'</div>'.repeat(depth)}</body>`);
    let levels = 0;
    for (let node: Element | null = doc.body; node; node = node.firstElementChild) levels += 1;
    expect(levels).toBeLessThanOrEqual(512);
    expect(doc.querySelectorAll('div')).toHaveLength(depth);
    expect(doc.body.textContent).toBe('deep text');
  });
});
