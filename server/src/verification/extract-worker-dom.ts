import { DOMParser } from 'linkedom';
import { type DefaultTreeAdapterMap, parse, parseFragment } from 'parse5';

/*
 * The DOM the server reads pages on, inside the extraction thread (extract-worker.ts): Readability runs on
 * linkedom, a small DOM that executes no script and loads nothing. Its own parser (htmlparser2) does not
 * build trees as browsers do (a page without <body> came out empty, upper-case attributes were not found,
 * text in <head> or after </html> was lost), so the tree is built by parse5, the HTML standard's parsing
 * algorithm, as the browser's DOMParser builds it.
 *
 * Checked against Chromium's DOMParser running the same shared code: the same text on every fixture
 * (fixture-pages.ts) and on 23 of 24 cases of malformed markup. The one difference: when Readability
 * retries a short page it writes the body back from its own serialization, and linkedom escapes the text
 * of the legacy raw-text elements <xmp>, <noembed>, <noframes> and <plaintext>, so their markup reads as
 * entities here. That re-parse also ignores quirks mode (untested: a <table> inside a <p> of a page without
 * a doctype). Decoding differs only where Node's ICU differs from the browsers (see `decodeBody`).
 *
 * Imports only packages: the thread loads it through tsx's API, without the server's path aliases.
 */

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
