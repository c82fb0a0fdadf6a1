import { extractBody } from '@protocol/extract/extract-body';
import { ExtractionError } from '@protocol/extract/extract-page';
import { keptMediaTypes, mediaTypeOf, pageRequestHeaders } from '@protocol/extract/page-rules';
import { textSha256 } from '@protocol/extract/text-hash';
import type { FetchFailureCode } from '@protocol/results';
import { checkUrl } from '@protocol/url-guard';
import { DOMParser } from 'linkedom';
import { type DefaultTreeAdapterMap, parse, parseFragment } from 'parse5';
import { type Resolver, type SafeFetchFailureCode, safeFetch } from '../net/safe-fetch';

/*
 * The server's own copy of a page, for auditing a contributor's when no other device can: fetched under
 * the server's network rules (`safeFetch`) and read by the extension's own extraction
 * (`@protocol/extract`), so an unchanged page gives the same text and hash as the contributor's.
 *
 * The DOM: Readability runs on linkedom, a small DOM that executes no script and loads nothing. Its own
 * parser (htmlparser2) does not build trees as browsers do (a page without <body> came out empty,
 * upper-case attributes were not found, text in <head> or after </html> was lost), so the tree is built
 * by parse5, the HTML standard's parsing algorithm, as the browser's DOMParser builds it.
 *
 * Checked against Chromium's DOMParser running the same shared code: the same text on every fixture
 * (fixture-pages.ts) and on 23 of 24 cases of malformed markup. The one difference: when Readability
 * retries a short page it writes the body back from its own serialization, and linkedom escapes the text
 * of the legacy raw-text elements <xmp>, <noembed>, <noframes> and <plaintext>, so their markup reads as
 * entities here. That re-parse also ignores quirks mode (untested: a <table> inside a <p> of a page without
 * a doctype). Decoding differs only where Node's ICU differs from the browsers (see `decodeBody`).
 */

/** Result format limit of a Content-Type (`fetchedPageSchema`). */
const maxContentTypeLength = 200;
/** Redirects a browser follows before it gives up (Chromium's and Firefox's limit), so the server ends where a device would. */
const maxRedirects = 20;
/** Says who is fetching: the product token robots.txt rules are matched against. */
const userAgent = 'GleanerBot/0.1 (+page audit)';

export interface ServerFetchOptions {
  /** A body larger than this is refused as too_large, as the extension refuses it. */
  maxBytes: number;
  /** One deadline for the whole fetch, redirects and body included. */
  timeoutMs: number;
  /** Exact `http://127.0.0.1:PORT` origins a test may fetch although the URL rules forbid them. */
  allowedTestOrigins: readonly string[];
  /** The resolver, injectable for tests; the system resolver by default. */
  lookup?: Resolver;
}

export type ServerPageFetch =
  | {
      ok: true;
      /** After redirects, normalized by the URL rules as the extension records it. */
      finalUrl: string;
      httpStatus: number;
      contentType: string;
      title: string;
      text: string;
      lang: string | null;
      canonicalUrl: string | null;
      /** SHA-256 of `normalizeText(text)`, as the contributor's result carries it. */
      textSha256: string;
    }
  | {
      ok: false;
      /** The code a device reports for the same failure (`fetchFailureCodes`). */
      code: FetchFailureCode;
      detail: string;
      /** The status of an answer that was not 2xx; null when no answer came. */
      httpStatus: number | null;
    };

type Failure = Extract<ServerPageFetch, { ok: false }>;

const fail = (code: FetchFailureCode, detail: string, httpStatus: number | null = null): Failure => ({
  ok: false,
  code,
  detail,
  httpStatus,
});

/** The device's code for each way `safeFetch` fails (its own code stays in the detail). */
const failureCodes: Record<SafeFetchFailureCode, FetchFailureCode> = {
  url_blocked: 'url_blocked',
  private_address: 'private_ip',
  dns_failed: 'network_error',
  redirect_blocked: 'redirect_blocked',
  too_many_redirects: 'too_many_redirects',
  timeout: 'timeout',
  network_error: 'network_error',
  too_large: 'too_large',
  unsupported_encoding: 'network_error',
};

/**
 * Fetches a page from the server and reads it exactly as the extension would: GET with the extension's
 * Accept headers through `safeFetch` (URL rules on every hop, only public addresses, connected to the
 * address checked, streamed byte cap, one deadline), a 2xx answer of HTML or plain text only, decoded
 * and extracted by `@protocol/extract`, its normalized text hashed. Never throws: every failure comes
 * back with the code a device would report.
 */
export async function fetchPageOnServer(url: string, options: ServerFetchOptions): Promise<ServerPageFetch> {
  try {
    const fetched = await safeFetch(url, {
      maxBytes: options.maxBytes,
      timeoutMs: options.timeoutMs,
      maxRedirects,
      onTooLarge: 'fail',
      allowedTestOrigins: options.allowedTestOrigins,
      headers: { ...pageRequestHeaders, 'user-agent': userAgent },
      lookup: options.lookup,
    });
    if (!fetched.ok) return fail(failureCodes[fetched.code], `${fetched.code}: ${fetched.detail}`);
    if (fetched.status < 200 || fetched.status > 299) {
      return fail('http_error', `The site answered HTTP ${fetched.status}.`, fetched.status);
    }
    const contentType = fetched.headers['content-type'] ?? null;
    const mediaType = mediaTypeOf(contentType);
    if (!contentType || !mediaType || !keptMediaTypes.includes(mediaType)) {
      return fail('content_type', `${mediaType ?? 'A missing content type'} is not a web page or plain text.`);
    }
    // The extension records the final URL as the URL rules normalize it, and resolves links against that.
    const final = checkUrl(fetched.finalUrl, { allowedTestOrigins: options.allowedTestOrigins });
    if (!final.ok) return fail('redirect_blocked', `Ended at ${fetched.finalUrl}: ${final.reason}`);

    let page: ReturnType<typeof extractBody>;
    try {
      page = extractBody(
        { bytes: fetched.body, contentType, finalUrl: final.url },
        { parseHtml: parseHtmlOnServer, collectLinks: false },
      );
    } catch (error) {
      const detail = error instanceof ExtractionError ? error.message : `Extraction failed: ${messageOf(error)}`;
      return fail('extraction_failed', detail);
    }
    return {
      ok: true,
      finalUrl: final.url,
      httpStatus: fetched.status,
      contentType: contentType.slice(0, maxContentTypeLength),
      title: page.title,
      text: page.text,
      lang: page.lang,
      canonicalUrl: page.canonicalUrl,
      textSha256: await textSha256(page.text),
    };
  } catch (error) {
    return fail('network_error', `The server's fetch failed: ${messageOf(error)}`);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type TreeNode = DefaultTreeAdapterMap['childNode'];
type TreeElement = DefaultTreeAdapterMap['element'];
type TreeDocument = DefaultTreeAdapterMap['document'];

const htmlNamespace = 'http://www.w3.org/1999/xhtml';
/** A document made by DOMParser runs no script, so <noscript> holds markup, not text (parse5's default is the opposite). */
const parseOptions = { scriptingEnabled: false };
/** Chromium's parser nests elements at most this deep (kMaximumHTMLParserDOMTreeDepth); deeper ones become siblings. */
const maxTreeDepth = 512;
const shellParser = new DOMParser();

function isElement(node: TreeNode): node is TreeElement {
  return 'tagName' in node;
}

function createElement(doc: Document, source: TreeElement): Element {
  const element =
    source.namespaceURI === htmlNamespace
      ? doc.createElement(source.tagName)
      : doc.createElementNS(source.namespaceURI, source.tagName);
  for (const attribute of source.attrs) {
    const name = attribute.prefix ? `${attribute.prefix}:${attribute.name}` : attribute.name;
    try {
      element.setAttribute(name, attribute.value);
    } catch {
      // A name the parser accepts but the DOM API refuses: the browser keeps it, and no text depends on it.
    }
  }
  return element;
}

/**
 * Appends a copy of parse5 nodes to `parent`, in document order and without recursion (pages nest
 * thousands deep). A <template>'s content stays out of the tree, as in the browser.
 */
function appendTree(doc: Document, parent: Node, nodes: TreeNode[], depth: number): void {
  const stack = [{ parent, nodes, next: 0, depth }];
  for (let top = stack.at(-1); top; top = stack.at(-1)) {
    const node = top.nodes[top.next];
    top.next += 1;
    if (!node) {
      stack.pop();
    } else if (node.nodeName === '#text' && 'value' in node) {
      top.parent.appendChild(doc.createTextNode(node.value));
    } else if (node.nodeName === '#comment' && 'data' in node) {
      top.parent.appendChild(doc.createComment(node.data));
    } else if (isElement(node)) {
      const element = createElement(doc, node);
      top.parent.appendChild(element);
      if (node.tagName !== 'template' && node.childNodes.length > 0) {
        const nested = top.depth + 1 < maxTreeDepth;
        stack.push({
          parent: nested ? element : top.parent,
          nodes: node.childNodes,
          next: 0,
          depth: nested ? top.depth + 1 : top.depth,
        });
      }
    }
  }
}

/** The value of an accessor property as the prototype chain defines it. */
function inheritedGetter(object: object, name: string): (() => unknown) | undefined {
  for (let proto = Object.getPrototypeOf(object); proto; proto = Object.getPrototypeOf(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (descriptor) return descriptor.get;
  }
  return undefined;
}

function buildDocument(tree: TreeDocument): Document {
  // An empty shell: only its <html> is used. head and body are read after they are built (linkedom's
  // getters would make their own when asked too early).
  const doc = shellParser.parseFromString('<!DOCTYPE html><html></html>', 'text/html') as unknown as Document;
  const root = doc.documentElement;
  const html = tree.childNodes.find(isElement);
  if (html) {
    for (const attribute of html.attrs) root.setAttribute(attribute.name, attribute.value);
    appendTree(doc, root, html.childNodes, 1);
  }
  const body = doc.body;
  const treeBody = html?.childNodes.find((node): node is TreeElement => isElement(node) && node.tagName === 'body');
  const readHtml = inheritedGetter(body ?? {}, 'innerHTML');
  if (body && treeBody && readHtml) {
    // Readability puts the body back between attempts with `page.innerHTML = …`; linkedom would parse
    // that with htmlparser2, so it is parsed as the browser would, in the body's context.
    Object.defineProperty(body, 'innerHTML', {
      configurable: true,
      get: () => readHtml.call(body),
      set: (markup: string) => {
        while (body.firstChild) body.removeChild(body.firstChild);
        appendTree(doc, body, parseFragment(treeBody, String(markup), parseOptions).childNodes, 2);
      },
    });
  }
  // extractPage hands Readability `doc.cloneNode(true)`: the copy is built from the same tree, so it
  // behaves like the original.
  const cloneNode = doc.cloneNode.bind(doc);
  Object.defineProperty(doc, 'cloneNode', {
    configurable: true,
    value: (deep?: boolean) => (deep ? buildDocument(tree) : cloneNode(deep)),
  });
  return doc;
}

/**
 * Parses a whole HTML document as the browser's DOMParser does (the HTML standard's tree construction,
 * by parse5, scripting off) into a linkedom document: what the shared extraction runs on, on the server.
 */
export function parseHtmlOnServer(html: string): Document {
  return buildDocument(parse(html, parseOptions));
}
