import type { ExtractedPage, ExtractionInput } from '@protocol/extract/extract-page';
import { browser } from 'wxt/browser';
import { extractReplySchema, extractRequest } from '@/lib/extract/offscreen-messages';

const offscreenPath = '/offscreen.html';
/** An extraction that takes longer than this is given up (the page fails as extraction_failed). */
const extractionTimeoutMs = 30_000;

let creating: Promise<void> | null = null;

async function hasOffscreenDocument(): Promise<boolean> {
  const contexts = await browser.runtime.getContexts({
    contextTypes: ['OFFSCREEN_DOCUMENT'],
    documentUrls: [browser.runtime.getURL(offscreenPath)],
  });
  return contexts.length > 0;
}

/** Opens the offscreen document unless it is open; concurrent callers share one creation (Chrome allows one). */
async function ensureOffscreenDocument(): Promise<void> {
  if (await hasOffscreenDocument()) return;
  creating ??= browser.offscreen
    .createDocument({
      url: browser.runtime.getURL(offscreenPath),
      reasons: ['DOM_PARSER'],
      justification: 'Extract the text of fetched pages with DOMParser and Readability.',
    })
    .finally(() => {
      creating = null;
    });
  await creating;
}

/** Chrome: extracts a page in the offscreen document (the service worker has no DOMParser). */
export async function extractInOffscreenDocument(input: ExtractionInput): Promise<ExtractedPage> {
  await ensureOffscreenDocument();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('The page took too long to extract.')), extractionTimeoutMs);
  });
  try {
    const raw = await Promise.race([browser.runtime.sendMessage(extractRequest(input)), timeout]);
    const reply = extractReplySchema.parse(raw);
    if (!reply.ok) throw new Error(reply.error);
    return reply.page;
  } finally {
    clearTimeout(timer);
  }
}

/** Closes the offscreen document after a burst, so it holds no memory while nothing runs. */
export async function closeOffscreenDocument(): Promise<void> {
  if (await hasOffscreenDocument()) await browser.offscreen.closeDocument();
}
