/**
 * One rule for every side: what text the server stores. Written without the ES2024 string methods
 * (isWellFormed, toWellFormed), which not every tsconfig that reads protocol/ has.
 */

/** A UTF-16 surrogate without its partner (what `String.prototype.toWellFormed` replaces). */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Text the server accepts. It refuses a record holding a NUL character (U+0000) or an unpaired
 * UTF-16 surrogate in any string (`invalid_text`): Postgres text cannot store NUL, and a lone
 * surrogate has no UTF-8 form. An honest plain-text page can hold NULs, and cutting a string to a
 * length limit can split a surrogate pair, so every string of a result is cleaned before it is
 * hashed and uploaded.
 */

/** Whether the server accepts this string as it is: no NUL, no unpaired surrogate. */
export function isCleanText(text: string): boolean {
  loneSurrogate.lastIndex = 0;
  return !text.includes('\u0000') && !loneSurrogate.test(text);
}

/** Replaces unpaired surrogates with U+FFFD and removes NUL characters; never makes a string longer. */
export function cleanText(text: string): string {
  if (isCleanText(text)) return text;
  return text.replace(loneSurrogate, '\uFFFD').replaceAll('\u0000', '');
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
