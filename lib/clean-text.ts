import { cleanStrings } from '@protocol/clean-text';
import { textSha256 } from './extract/text-hash';

export { cleanStrings, cleanText, findUncleanText, isCleanText } from '@protocol/clean-text';

function isFetchedPage(value: unknown): value is { outcome: 'fetched'; text: string; textSha256: string } {
  const page = value as { outcome?: unknown; text?: unknown } | null;
  return typeof page === 'object' && page !== null && page.outcome === 'fetched' && typeof page.text === 'string';
}

/**
 * A record as it goes up: every string cleaned and, when that changed the text of a page, its
 * textSha256 computed again from the text sent. The safety net for records an older version queued
 * before it cleaned them; a record that needed nothing comes back as the same value.
 */
export async function cleanRecord(record: unknown): Promise<unknown> {
  const cleaned = cleanStrings(record);
  if (cleaned === record) return record;
  if (isFetchedPage(cleaned) && isFetchedPage(record) && cleaned.text !== record.text) {
    return { ...cleaned, textSha256: await textSha256(cleaned.text) };
  }
  return cleaned;
}
