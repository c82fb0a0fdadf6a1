import { extractBody, type PageBody } from '../../../protocol/extract/extract-body';
import { ExtractionError } from '../../../protocol/extract/extract-page';
import { textSha256 } from '../../../protocol/extract/text-hash';
import { serveThreadRequests } from '../threads/thread-pool';
import { parseHtmlOnServer } from './extract-worker-dom';

/*
 * The thread that reads fetched pages for `fetchPageOnServer`: decoding, parsing, Readability, the text walk
 * and the hash all run here, because a hostile page (nested thousands deep) keeps them busy for seconds, and
 * on the HTTP thread those seconds would stall every request. Started by extraction-pool.ts, which ends the
 * thread when a page takes too long.
 */

/** What the server keeps of a page, its normalized text hashed as the contributor's result carries it. */
export interface ExtractedBody {
  title: string;
  text: string;
  lang: string | null;
  canonicalUrl: string | null;
  textSha256: string;
}

export type ExtractionOutcome = { ok: true; page: ExtractedBody } | { ok: false; detail: string };

/** Reads a body as the extension does (`extractBody`) and hashes its text. Never throws. */
export async function extractAndHash(body: PageBody): Promise<ExtractionOutcome> {
  try {
    const page = extractBody(body, { parseHtml: parseHtmlOnServer, collectLinks: false });
    return {
      ok: true,
      page: {
        title: page.title,
        text: page.text,
        lang: page.lang,
        canonicalUrl: page.canonicalUrl,
        // Here too: normalizing a text of millions of characters takes a while.
        textSha256: await textSha256(page.text),
      },
    };
  } catch (error) {
    if (error instanceof ExtractionError) return { ok: false, detail: error.message };
    return { ok: false, detail: `Extraction failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * Answers the pool's pages in this thread, one at a time. Called by the pool's start-up script, not on import,
 * so that importing this file elsewhere starts nothing.
 */
export function serveExtractions(): void {
  serveThreadRequests(extractAndHash);
}
