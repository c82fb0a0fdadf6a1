import { textSha256 } from './extract/text-hash';

/**
 * Text the server accepts. It refuses a record holding a NUL character (U+0000) or an unpaired
 * UTF-16 surrogate in any string (`invalid_text`): Postgres text cannot store NUL, and a lone
 * surrogate has no UTF-8 form. An honest plain-text page can hold NULs, and cutting a string to a
 * length limit can split a surrogate pair, so every string of a result is cleaned before it is
 * hashed and uploaded.
 */

/** Whether the server accepts this string as it is: no NUL, no unpaired surrogate. */
export function isCleanText(text: string): boolean {
  return text.isWellFormed() && !text.includes('\u0000');
}

/** Replaces unpaired surrogates with U+FFFD and removes NUL characters; never makes a string longer. */
export function cleanText(text: string): string {
  if (isCleanText(text)) return text;
  return text.toWellFormed().replaceAll('\u0000', '');
}

/**
 * The value with every string in it cleaned (object values and array items, at any depth). Returns
 * the same value, untouched, when nothing needed cleaning, so callers can tell by identity.
 */
export function cleanStrings<T>(value: T): T {
  if (typeof value === 'string') return cleanText(value) as T;
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    value.forEach((item, index) => {
      const cleaned = cleanStrings(item);
      if (cleaned !== item) {
        copy ??= [...value];
        copy[index] = cleaned;
      }
    });
    return (copy ?? value) as T;
  }
  if (typeof value === 'object' && value !== null) {
    let copy: Record<string, unknown> | null = null;
    for (const [key, item] of Object.entries(value)) {
      const cleaned = cleanStrings(item);
      if (cleaned !== item) {
        copy ??= { ...(value as Record<string, unknown>) };
        copy[key] = cleaned;
      }
    }
    return (copy ?? value) as T;
  }
  return value;
}

/** The path (`results.text`, `links.3`) of the first string the server would refuse, or null when all are clean. */
export function findUncleanText(value: unknown, path: string[] = []): string | null {
  if (typeof value === 'string') return isCleanText(value) ? null : path.join('.');
  if (typeof value !== 'object' || value === null) return null;
  for (const [key, item] of Object.entries(value)) {
    const found = findUncleanText(item, [...path, key]);
    if (found !== null) return found;
  }
  return null;
}

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
