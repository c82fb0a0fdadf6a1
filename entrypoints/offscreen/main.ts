import { ExtractionError } from '@protocol/extract/extract-page';
import { browser } from 'wxt/browser';
import { extractHtml } from '@/lib/extract/extract-page';
import { type ExtractReply, extractRequestSchema } from '@/lib/extract/offscreen-messages';

// The offscreen document (reason DOM_PARSER) exists only to give the service worker a DOMParser:
// it answers the background's extraction requests and ignores every other message (the pages'
// messages are for the background, which answers them).
browser.runtime.onMessage.addListener((message, _sender, sendResponse) => {
  const request = extractRequestSchema.safeParse(message);
  if (!request.success) return;
  let reply: ExtractReply;
  try {
    reply = { ok: true, page: extractHtml(request.data.input) };
  } catch (error) {
    const words = error instanceof ExtractionError ? error.message : `Extraction failed: ${String(error)}`;
    reply = { ok: false, error: words };
  }
  sendResponse(reply);
});
