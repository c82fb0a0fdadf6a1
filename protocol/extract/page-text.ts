/** Elements that start a new paragraph when a page is read as text. */
const blockElements = new Set([
  'ADDRESS',
  'ARTICLE',
  'ASIDE',
  'BLOCKQUOTE',
  'CAPTION',
  'DD',
  'DETAILS',
  'DIALOG',
  'DIV',
  'DL',
  'DT',
  'FIELDSET',
  'FIGCAPTION',
  'FIGURE',
  'FOOTER',
  'FORM',
  'H1',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'HEADER',
  'HGROUP',
  'HR',
  'LI',
  'MAIN',
  'NAV',
  'OL',
  'P',
  'PRE',
  'SECTION',
  'SUMMARY',
  'TABLE',
  'TBODY',
  'TD',
  'TFOOT',
  'TH',
  'THEAD',
  'TR',
  'UL',
]);

/** Elements whose content is never text a reader sees. */
const skippedElements = new Set([
  'SCRIPT',
  'STYLE',
  'NOSCRIPT',
  'TEMPLATE',
  'SVG',
  'MATH',
  'IFRAME',
  'OBJECT',
  'EMBED',
  'CANVAS',
  'HEAD',
  'SELECT',
  'BUTTON',
]);

const textNode = 3;
const elementNode = 1;

/**
 * The text of a DOM subtree as a reader sees it: source whitespace collapsed (line breaks kept
 * inside `<pre>`), blocks separated by blank lines, `<br>` as a line break, scripts and styles left out. Block
 * boundaries matter: `<p>a</p><p>b</p>` reads "a" and "b", never "ab", so the normalized-text
 * hash is stable and words never run together.
 */
export function textOf(root: Node): string {
  const parts: string[] = [];
  const visit = (node: Node, preformatted: boolean) => {
    if (node.nodeType === textNode) {
      const data = node.nodeValue ?? '';
      parts.push(preformatted ? data.replace(/\r\n?/g, '\n') : data.replace(/[ \t\n\r\f]+/g, ' '));
      return;
    }
    const name = node.nodeType === elementNode ? node.nodeName.toUpperCase() : '';
    if (skippedElements.has(name)) return;
    if (name === 'BR') {
      parts.push('\n');
      return;
    }
    const block = blockElements.has(name);
    if (block) parts.push('\n\n');
    for (const child of Array.from(node.childNodes)) visit(child, preformatted || name === 'PRE');
    if (block) parts.push('\n\n');
  };
  visit(root, false);
  return parts
    .join('')
    .replace(/[ \t]*\n[ \t]*/g, '\n')
    .replace(/ {2,}/g, ' ')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}
