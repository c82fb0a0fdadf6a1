import { Readability } from '@mozilla/readability';
import { z } from 'zod';
import { textOf } from './page-text';

/** What extraction needs: the decoded HTML and the URL it finally came from. */
export const extractionInputSchema = z.object({
  html: z.string(),
  url: z.url(),
  collectLinks: z.boolean(),
});
export type ExtractionInput = z.infer<typeof extractionInputSchema>;

/** Limits of the result format (`@protocol/results`). */
const maxTitleLength = 2_000;
const maxLangLength = 35;
const maxUrlLength = 4_096;
const maxLinks = 5_000;

export const extractedPageSchema = z.object({
  title: z.string().max(maxTitleLength),
  text: z.string(),
  lang: z.string().max(maxLangLength).nullable(),
  canonicalUrl: z.string().max(maxUrlLength).nullable(),
  links: z.array(z.string().max(maxUrlLength)).max(maxLinks),
});
export type ExtractedPage = z.infer<typeof extractedPageSchema>;

export class ExtractionError extends Error {
  override name = 'ExtractionError';
}

/**
 * The HTML parser extraction runs on: the browser's `DOMParser` in the extension, a server-side DOM
 * on the server. Injected so that both sides run this same code, and so produce the same text.
 */
export interface ExtractionDom {
  /** Parses a whole HTML document, as `new DOMParser().parseFromString(html, 'text/html')` does. */
  parseHtml: (html: string) => Document;
}

/** Resolves `href` against `base`; only http(s) URLs without their fragment, else null. */
function resolveHttpUrl(href: string | null | undefined, base: string): string | null {
  if (!href?.trim() || !URL.canParse(href.trim(), base)) return null;
  const url = new URL(href.trim(), base);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  url.hash = '';
  return url.href.length <= maxUrlLength ? url.href : null;
}

/** The base URL of the document: its `<base href>` resolved against where it came from. */
function baseUrlOf(doc: Document, url: string): string {
  return resolveHttpUrl(doc.querySelector('base[href]')?.getAttribute('href'), url) ?? url;
}

function sameOriginLinks(doc: Document, base: string, origin: string): string[] {
  const links = new Set<string>();
  for (const anchor of Array.from(doc.querySelectorAll('a[href], area[href]'))) {
    const link = resolveHttpUrl(anchor.getAttribute('href'), base);
    if (link && new URL(link).origin === origin) links.add(link);
    if (links.size >= maxLinks) break;
  }
  return [...links];
}

/**
 * Extracts what a dataset keeps from an HTML page: title, main text (Readability's article, or
 * the whole body when it finds none), the `<html lang>`, the canonical URL and, when asked, the
 * page's same-origin links (absolute, without fragments, deduplicated). Throws ExtractionError
 * when the page has no readable text.
 */
export function extractPage(input: ExtractionInput, dom: ExtractionDom): ExtractedPage {
  const doc = dom.parseHtml(input.html);
  const base = baseUrlOf(doc, input.url);
  const title = (doc.querySelector('title')?.textContent ?? '').replace(/\s+/g, ' ').trim();
  const lang = doc.documentElement?.getAttribute('lang')?.trim() || null;
  const canonical = doc.querySelector('link[rel~="canonical" i][href]')?.getAttribute('href');
  const links = input.collectLinks ? sameOriginLinks(doc, base, new URL(input.url).origin) : [];

  // Readability changes the document it reads: give it a copy, keep the original for the fallback.
  const copy = doc.cloneNode(true) as Document;
  if (!copy.querySelector('base[href]')) {
    const baseElement = copy.createElement('base');
    baseElement.setAttribute('href', base);
    copy.head?.prepend(baseElement);
  }
  let article: ReturnType<Readability<Node>['parse']> = null;
  try {
    article = new Readability<Node>(copy, { serializer: (node) => node }).parse();
  } catch {
    article = null;
  }
  let text = article?.content ? textOf(article.content) : '';
  if (!text && doc.body) text = textOf(doc.body);
  if (!text) throw new ExtractionError('The page has no readable text.');

  return {
    title: (title || article?.title?.trim() || '').slice(0, maxTitleLength),
    text,
    lang: lang ? lang.slice(0, maxLangLength) : null,
    canonicalUrl: resolveHttpUrl(canonical, base),
    links,
  };
}

/** A plain-text page: its text is the whole body. */
export function extractPlainText(text: string): ExtractedPage {
  if (!text.trim()) throw new ExtractionError('The page is empty.');
  return { title: '', text, lang: null, canonicalUrl: null, links: [] };
}
