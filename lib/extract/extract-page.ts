import { type ExtractedPage, type ExtractionInput, extractPage } from '@protocol/extract/extract-page';

// The extraction itself lives in protocol/ (the server must produce the same text); these names keep
// the extension's imports as they were.
export { type ExtractedPage, type ExtractionInput, extractPlainText } from '@protocol/extract/extract-page';

/**
 * The extension's extraction: the shared extractor over the browser's DOMParser (the offscreen
 * document on Chrome, the background page on Firefox; happy-dom's in unit tests).
 */
export function extractHtml(input: ExtractionInput, parser: DOMParser = new DOMParser()): ExtractedPage {
  return extractPage(input, { parseHtml: (html) => parser.parseFromString(html, 'text/html') });
}
