import { describe, expect, it } from 'vitest';
import { normalizeText } from '../results';
import { ExtractionError, type ExtractionInput, extractPage, extractPlainText } from './extract-page';
import { textOf } from './page-text';

// These tests run in the extension's test project: happy-dom's DOMParser stands for the browser's.
const extractHtml = (input: ExtractionInput) =>
  extractPage(input, { parseHtml: (html) => new DOMParser().parseFromString(html, 'text/html') });

const origin = 'https://news.example';

/** A page shaped like the e2e test site's articles: navigation, an article of paragraphs, a footer. */
function articlePage(n: number, links: string[] = []) {
  const paragraphs = [
    `Field notes number ${n}.`,
    `Gleaning is the act of collecting leftover crops from farmers' fields after they have been harvested. Entry ${n} records what was found on day ${n}.`,
    `The gleaners walked the rows at dawn, carrying baskets woven from willow. They counted ${n * 3} sheaves left behind by the reapers.`,
    'Every entry in this archive is public, and the archive welcomes careful readers and careful crawlers alike.',
  ];
  const nav = links.map((href) => `<li><a href="${href}">${href}</a></li>`).join('');
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Field notes ${n}</title>
<link rel="canonical" href="/article/${n}"></head>
<body><header><nav><ul>${nav}</ul></nav></header>
<main><article><h1>Field notes ${n}</h1>${paragraphs.map((p) => `<p>${p}</p>`).join('')}</article></main>
<footer>Gleaner test site</footer><script>var tracking = 1;</script></body></html>`;
  return { html, paragraphs };
}

describe('extractHtml', () => {
  it('reads title, language, canonical URL and the article’s paragraphs without navigation or footer', () => {
    const { html, paragraphs } = articlePage(7, ['/', '/article/8']);
    const page = extractHtml({ html, url: `${origin}/article/7`, collectLinks: false });
    expect(page.title).toBe('Field notes 7');
    expect(page.lang).toBe('en');
    expect(page.canonicalUrl).toBe(`${origin}/article/7`);
    expect(page.links).toEqual([]);
    expect(page.text).toBe(paragraphs.join('\n\n'));
    expect(normalizeText(page.text)).toBe(normalizeText(paragraphs.join('\n\n')));
  });

  it('collects same-origin links only when asked: absolute, without fragments, deduplicated', () => {
    const { html } = articlePage(1, [
      '/',
      '/article/2',
      'article/3',
      '/article/2#comments',
      `${origin}/article/4?x=1`,
      'https://elsewhere.example/offsite',
      'mailto:someone@news.example',
      'javascript:void(0)',
    ]);
    const page = extractHtml({ html, url: `${origin}/dir/page`, collectLinks: true });
    expect(page.links).toEqual([
      `${origin}/`,
      `${origin}/article/2`,
      `${origin}/dir/article/3`,
      `${origin}/article/4?x=1`,
    ]);
  });

  it('resolves links and the canonical URL against a <base href>', () => {
    const html = `<html><head><base href="/docs/"><link rel="Canonical" href="intro"></head>
      <body><p>Some documentation text that is long enough to read.</p><a href="next">next</a></body></html>`;
    const page = extractHtml({ html, url: `${origin}/x/y`, collectLinks: true });
    expect(page.canonicalUrl).toBe(`${origin}/docs/intro`);
    expect(page.links).toEqual([`${origin}/docs/next`]);
  });

  it('falls back to the body text when there is no article, and leaves scripts and styles out', () => {
    const html =
      '<html><body><style>p{}</style><div>Short</div><div>note<br>two lines</div><script>x()</script></body></html>';
    const page = extractHtml({ html, url: `${origin}/`, collectLinks: false });
    expect(normalizeText(page.text)).toBe('Short note two lines');
    expect(page.title).toBe('');
    expect(page.lang).toBeNull();
    expect(page.canonicalUrl).toBeNull();
  });

  it('fails a page without any readable text', () => {
    expect(() =>
      extractHtml({ html: '<html><body> <script>1</script></body></html>', url: `${origin}/`, collectLinks: false }),
    ).toThrow(ExtractionError);
  });

  it('ignores a canonical link that is not http(s)', () => {
    const html =
      '<html><head><link rel="canonical" href="javascript:alert(1)"></head><body><p>Text here.</p></body></html>';
    expect(extractHtml({ html, url: `${origin}/`, collectLinks: false }).canonicalUrl).toBeNull();
  });
});

describe('textOf', () => {
  it('separates blocks so words never run together and keeps the line breaks of preformatted text', () => {
    const doc = new DOMParser().parseFromString(
      '<div><p>one</p><p>two</p><ul><li>a</li><li>b</li></ul><pre>x  =  1\n  y</pre><span>in</span><b>line</b></div>',
      'text/html',
    );
    expect(textOf(doc.body)).toBe('one\n\ntwo\n\na\n\nb\n\nx = 1\ny\n\ninline');
  });
});

describe('extractPlainText', () => {
  it('keeps the whole body as the text', () => {
    expect(extractPlainText('Line one\nLine two')).toEqual({
      title: '',
      text: 'Line one\nLine two',
      lang: null,
      canonicalUrl: null,
      links: [],
    });
    expect(() => extractPlainText('  \n ')).toThrow(ExtractionError);
  });
});
