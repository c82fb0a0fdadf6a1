/**
 * Addresses in the fetch log shortened to fit one line: the host always shows (it says whose site it was)
 * and the end of the address (which page) as far as it fits, with an ellipsis in the middle; the cut falls
 * after a `/`, `?`, `&`, `=`, `-`, `_` or `.` when one is near, so no word is split where a separator can
 * take the cut. The full address stays in the page (title, copy button, screen readers).
 */

const ellipsis = '…';
/** Characters shown at most: about a line of the options page's monospace column. */
export const shownUrlLength = 64;

/** How far past the ideal cut a separator may be and still be preferred (two fifths of the kept part). */
const separatorSlack = 0.4;

export function shortenUrl(url: string, max: number = shownUrlLength): string {
  if (url.length <= max) return url;
  const parsed = URL.canParse(url) ? new URL(url) : null;
  const head = parsed ? `${parsed.protocol}//${parsed.host}` : '';
  const rest = url.slice(head.length);
  // Not a URL, or a host too long to leave room for the end: cut at the end, at a separator if one is near.
  if (!parsed || head.length + 1 + 12 > max) return cutEnd(url, max);
  const room = max - head.length - ellipsis.length;
  let tail = rest.slice(rest.length - room);
  const slack = Math.floor(room * separatorSlack);
  const separator = tail.slice(0, slack).search(/[/?&=\-_.]/);
  if (separator >= 0) tail = tail.slice(separator);
  return `${head}${ellipsis}${tail}`;
}

function cutEnd(text: string, max: number): string {
  let kept = text.slice(0, max - ellipsis.length);
  const slack = Math.floor(kept.length * separatorSlack);
  const last = Math.max(...['/', '?', '&', '=', '-', '_', '.'].map((mark) => kept.lastIndexOf(mark)));
  if (last >= kept.length - slack) kept = kept.slice(0, last + 1);
  return `${kept}${ellipsis}`;
}
