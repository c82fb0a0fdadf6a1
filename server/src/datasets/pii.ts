/**
 * Redaction of e-mail addresses and phone numbers in a dataset's text, titles and HTML (on by default;
 * counted in the card). Both are found by hand-written scanners, not regular expressions: a pattern such as
 * `[\w.+-]+@` retried at every position of a long run of word characters costs quadratic time, and pages
 * are untrusted. Each character is looked at a bounded number of times, so a 1 MB page costs what any
 * 1 MB page does.
 *
 * Placeholders: `[email]` and `[phone]`. They hold no digit and no `@`, so redacting twice changes nothing.
 *
 * E-mail: a local part of letters, digits, marks and `. _ % + -` (so plus tags), `@`, then at least two
 * dot-separated labels of letters, digits, marks and inner hyphens (so subdomains and Unicode domains);
 * the last label is letters only or a punycode `xn--` label, which keeps `pkg@1.2.3` and `user@host` out.
 *
 * Phone: runs of digit groups joined by a space, `.`, `-` or parentheses are matched against three shapes,
 * and anything else is kept:
 * - international: `+` then 8 to 15 digits in any grouping (`+44 20 7946 0958`, `+1-555-123-4567`,
 *   `+33 (0)1 23 45 67 89`, `+14155552671`);
 * - North American: an optional `1`, then 3-3-4 digits with consistent separators, the area code maybe
 *   in parentheses and never starting with 0 or 1 (`(555) 123-4567`, `555.123.4567`, `1-800-555-0199`);
 * - national with a trunk 0 (most of Europe): the first group starts with 0 and has 2 to 5 digits, every
 *   group has at least 2, one separator throughout, 9 to 12 digits (`01 23 45 67 89`, `020 7946 0958`).
 * A match glued to a word, to a number (`12,555 123 4567`), to a currency sign or to `@#%/=` is kept, as
 * are bare digit runs without `+` (ids, ZIP codes), dotted quads (IP addresses), dates, times, prices,
 * ISBNs, versions and coordinates, which have none of the shapes above.
 * Not found: numbers written with letters or words (`1-800-FLOWERS`, `five five five`), seven-digit local
 * numbers (`555-1234`, too close to ranges and codes), obfuscated addresses (`name [at] example [dot] com`).
 */

export const emailPlaceholder = '[email]';
export const phonePlaceholder = '[phone]';

/** A text with its e-mail addresses and phone numbers replaced, and how many of each there were. */
export interface Redacted {
  text: string;
  emails: number;
  phones: number;
}

/** Replaces e-mail addresses with `[email]` and then phone numbers with `[phone]` (see the module comment). */
export function redactPii(text: string): Redacted {
  const afterEmails = replaceSpans(text, findEmails(text), emailPlaceholder);
  const phones = findPhones(afterEmails.text);
  const afterPhones = replaceSpans(afterEmails.text, phones, phonePlaceholder);
  return { text: afterPhones.text, emails: afterEmails.count, phones: afterPhones.count };
}

type Span = readonly [start: number, end: number];

function replaceSpans(text: string, spans: readonly Span[], placeholder: string): { text: string; count: number } {
  if (spans.length === 0) return { text, count: 0 };
  const parts: string[] = [];
  let at = 0;
  for (const [start, end] of spans) {
    parts.push(text.slice(at, start), placeholder);
    at = end;
  }
  parts.push(text.slice(at));
  return { text: parts.join(''), count: spans.length };
}

const wordPattern = /[\p{L}\p{M}\p{N}]/u;
const letterPattern = /[\p{L}\p{M}]/u;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAsciiAlnum(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

/** A letter, mark or digit of any script (astral characters, split in two code units, count as none). */
function isWordUnit(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 0x80) return isAsciiAlnum(c);
  return wordPattern.test(text[i] as string);
}

function isLocalUnit(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  // . _ % + -
  return c === 0x2e || c === 0x5f || c === 0x25 || c === 0x2b || c === 0x2d || isWordUnit(text, i);
}

function isDomainUnit(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  return c === 0x2e || c === 0x2d || isWordUnit(text, i);
}

const punycodeLabel = /^xn--[a-z0-9-]+$/i;

/** How much of `domain` is a host name ending in a real top-level label (0: none). */
function validDomainLength(domain: string): number {
  const labels = domain.split('.');
  let valid = 0;
  while (valid < labels.length) {
    const label = labels[valid] as string;
    if (label.length === 0 || label.length > 63 || label.startsWith('-') || label.endsWith('-')) break;
    valid += 1;
  }
  // Back off to the last label that can be a top-level one.
  for (let last = valid - 1; last >= 1; last -= 1) {
    const label = labels[last] as string;
    if (punycodeLabel.test(label) || (label.length >= 2 && [...label].every((ch) => letterPattern.test(ch)))) {
      return labels.slice(0, last + 1).join('.').length;
    }
  }
  return 0;
}

/**
 * E-mail addresses, found from each `@`: the local part left of it, the domain right of it. `@` is in
 * neither, so no character is scanned by more than the nearest `@` on each side: linear time.
 */
function findEmails(text: string): Span[] {
  const spans: Span[] = [];
  let from = 0;
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > from && isLocalUnit(text, start - 1)) start -= 1;
    while (start < at && text.charCodeAt(start) === 0x2e) start += 1; // a local part never starts with a dot
    if (start === at || text.charCodeAt(at - 1) === 0x2e) continue;
    let end = at + 1;
    while (end < text.length && isDomainUnit(text, end)) end += 1;
    const length = validDomainLength(text.slice(at + 1, end));
    if (length === 0) continue;
    end = at + 1 + length;
    spans.push([start, end]);
    from = end;
  }
  return spans;
}

/** A run of digit groups, each with the characters that join it to the previous group. */
interface Group {
  start: number;
  end: number;
  /** Text between the previous group and this one ('' for the first). */
  gap: string;
}

const spaces = new Set([' ', '\u00a0', '\u202f']);
/** What may join two digit groups of a phone number: one separator, maybe with a parenthesis. */
const joinGaps = new Set(['-', '.', ' ', '(', ')', ') ', ')-', ' (', ') (', '\u00a0', '\u202f', ')\u00a0', '\u00a0(']);
const maxGap = 3;

/** Phone numbers: each run of joined digit groups is read once, then matched group by group. */
function findPhones(text: string): Span[] {
  const spans: Span[] = [];
  let i = 0;
  while (i < text.length) {
    if (!isDigit(text.charCodeAt(i))) {
      i += 1;
      continue;
    }
    const groups: Group[] = [];
    let start = i;
    let gap = '';
    for (;;) {
      let end = start;
      while (end < text.length && isDigit(text.charCodeAt(end))) end += 1;
      groups.push({ start, end, gap });
      let next = end;
      while (next < text.length && next - end < maxGap && !isDigit(text.charCodeAt(next))) next += 1;
      gap = text.slice(end, next);
      if (next >= text.length || !isDigit(text.charCodeAt(next)) || !joinGaps.has(gap)) break;
      start = next;
    }
    matchGroups(text, groups, spans);
    i = (groups.at(-1) as Group).end;
  }
  return spans;
}

/** Finds phone numbers among one run's groups, left to right, without overlaps. */
function matchGroups(text: string, groups: readonly Group[], spans: Span[]): void {
  let a = 0;
  while (a < groups.length) {
    const span = international(text, groups, a) ?? northAmerican(text, groups, a) ?? trunkZero(text, groups, a);
    if (span === null) {
      a += 1;
      continue;
    }
    spans.push([span.start, span.end]);
    a = span.next;
  }
}

interface Match {
  start: number;
  end: number;
  /** The first group after the match. */
  next: number;
}

const digitsOf = (group: Group) => group.end - group.start;
const endsWithSpace = (gap: string) => gap.length > 0 && spaces.has(gap.at(-1) as string);
const startsWithSpace = (gap: string) => gap.length > 0 && spaces.has(gap[0] as string);

/** Characters that, right before a number, make it part of something else: a price, a tag, a path, a sum. */
const gluedBefore = new Set(['_', '$', '€', '£', '¥', '#', '@', '%', '&', '=', '/', '\\', '+', '*', '^']);
/** Before a number, these join it to a number further left (`12,555 …`, `3.555…`, `7-555…`). */
const numberJoiners = new Set(['.', ',', '-', ':', '/']);
/** Characters that, right after a number, make it part of something else. */
const gluedAfter = new Set(['_', '%', '@', '°', '€', '$', '£', '¥', '+', '*', '^', '=']);

/** Whether the match may start at `start`, the first character of the match (a digit, `+` or `(`). */
function freeBefore(text: string, start: number): boolean {
  if (start === 0) return true;
  const before = text[start - 1] as string;
  if (isWordUnit(text, start - 1) || gluedBefore.has(before)) return false;
  return !(numberJoiners.has(before) && start >= 2 && isDigit(text.charCodeAt(start - 2)));
}

/** Whether the match may end at `end` (exclusive). */
function freeAfter(text: string, end: number): boolean {
  if (end >= text.length) return true;
  const after = text[end] as string;
  if (isWordUnit(text, end) || gluedAfter.has(after)) return false;
  return !(numberJoiners.has(after) && end + 1 < text.length && isDigit(text.charCodeAt(end + 1)));
}

/**
 * Whether groups a..b can stand alone: inside a run, a match begins after a space and ends before one, so a
 * phone number is never cut out of a longer number (`978-0-306-40615-7`), and when its own groups are
 * joined by spaces, the groups around it must not be (`4111 1111 0112 3456 7890`, `0 800 123 4567`).
 * `separator` is what joins the match's own groups ('' for any).
 */
function standsAlone(groups: readonly Group[], a: number, b: number, separator: string): boolean {
  const gapBefore = (groups[a] as Group).gap;
  const gapAfter = b === groups.length - 1 ? '' : (groups[b + 1] as Group).gap;
  if (separator !== '' && (gapBefore === separator || gapAfter === separator)) return false;
  const before = a === 0 || endsWithSpace(gapBefore) || (gapBefore.endsWith('(') && startsWithSpace(gapBefore));
  const after = b === groups.length - 1 || startsWithSpace(gapAfter);
  return before && after;
}

/** `+` then 8 to 15 digits: the longest such prefix of the run that stands alone. */
function international(text: string, groups: readonly Group[], a: number): Match | null {
  // A `+` never joins groups, so only a run's first group can follow one.
  const plus = (groups[a] as Group).start - 1;
  if (a !== 0 || text[plus] !== '+' || !freeBefore(text, plus)) return null;
  let digits = 0;
  let best: Match | null = null;
  for (let b = a; b < groups.length; b += 1) {
    const group = groups[b] as Group;
    digits += digitsOf(group);
    if (digits > 15) break;
    if (digits >= 8 && standsAlone(groups, a, b, '') && freeAfter(text, group.end)) {
      best = { start: plus, end: group.end, next: b + 1 };
    }
  }
  return best;
}

/** [1] NXX NXX XXXX with consistent separators, the area code maybe in parentheses. */
function northAmerican(text: string, groups: readonly Group[], a: number): Match | null {
  let area = a;
  const country = groups[a] as Group;
  if (digitsOf(country) === 1 && text[country.start] === '1' && a + 3 < groups.length) {
    const gap = (groups[a + 1] as Group).gap;
    if (gap === '-' || gap === '.' || gap === ' ' || gap === ' (') area = a + 1;
  }
  const [g1, g2, g3] = [groups[area], groups[area + 1], groups[area + 2]];
  if (!g1 || !g2 || !g3) return null;
  if (digitsOf(g1) !== 3 || digitsOf(g2) !== 3 || digitsOf(g3) !== 4) return null;
  const areaFirst = text.charCodeAt(g1.start);
  if (areaFirst === 0x30 || areaFirst === 0x31) return null;
  const parenthesized = text[g1.start - 1] === '(';
  const first = g2.gap;
  const second = g3.gap;
  const consistent = parenthesized
    ? (first === ')' || first === ') ' || first === ')-' || first === ')\u00a0') &&
      (second === '-' || second === ' ' || second === '.' || second === '\u00a0')
    : (first === '-' && second === '-') ||
      (first === '.' && second === '.') ||
      (spaces.has(first) && (spaces.has(second) || second === '-'));
  if (!consistent) return null;
  const start = area === a ? (parenthesized ? g1.start - 1 : g1.start) : country.start;
  if (!standsAlone(groups, a, area + 2, second) || !freeBefore(text, start) || !freeAfter(text, g3.end)) return null;
  return { start, end: g3.end, next: area + 3 };
}

/** 0X… national numbers: one separator throughout, groups of 2+ digits, 9 to 12 digits in all. */
function trunkZero(text: string, groups: readonly Group[], a: number): Match | null {
  const first = groups[a] as Group;
  if (text[first.start] !== '0' || digitsOf(first) < 2 || digitsOf(first) > 5) return null;
  if (!freeBefore(text, first.start) || a + 1 >= groups.length) return null;
  const separator = (groups[a + 1] as Group).gap;
  if (separator !== ' ' && separator !== '.' && separator !== '-' && separator !== '\u00a0') return null;
  let digits = digitsOf(first);
  let best: Match | null = null;
  for (let b = a + 1; b < groups.length && b - a < 6; b += 1) {
    const group = groups[b] as Group;
    if (group.gap !== separator || digitsOf(group) < 2) break;
    digits += digitsOf(group);
    if (digits > 12) break;
    const dottedQuad = separator === '.' && b - a === 3 && groups.slice(a, b + 1).every((g) => digitsOf(g) <= 3);
    if (digits >= 9 && !dottedQuad && standsAlone(groups, a, b, separator) && freeAfter(text, group.end)) {
      best = { start: first.start, end: group.end, next: b + 1 };
    }
  }
  return best;
}
