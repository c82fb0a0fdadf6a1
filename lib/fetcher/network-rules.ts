/**
 * declarativeNetRequest session rules that guard this extension's own background requests at the
 * network layer, before anything is sent: a redirect hop to a forbidden address is blocked
 * (`net::ERR_BLOCKED_BY_CLIENT`) instead of reaching it. A service worker cannot see redirect
 * targets itself (`redirect: 'manual'` hides them), so this is what guards each hop; the webRequest
 * monitor then re-checks every hop with the full URL guard and aborts anything these patterns miss.
 *
 * Rules only match requests without a tab (`tabIds: [-1]`) started by this extension
 * (`initiatorDomains: [id]`): the person's own browsing is never touched. Patterns are RE2 (no
 * look-around) and match the URL as Chromium canonicalized it: lower-case scheme and host, IPv4 in
 * dotted decimal whatever encoding the page used, IPv6 compressed, default ports removed.
 */

import { localSuffixes } from '@protocol/url-guard';

export interface SessionRule {
  id: number;
  priority: number;
  action: { type: 'allow' | 'block' };
  condition: { regexFilter: string; tabIds: number[]; initiatorDomains: string[] };
}

export interface NetworkRuleOptions {
  /** `browser.runtime.id`. */
  extensionId: string;
  /** Exact origins a test build may fetch (`http://127.0.0.1:4321`); empty in production. */
  allowedTestOrigins: readonly string[];
  /** The Gleaner server's base address: its API must stay reachable even when it is a local address. */
  serverUrl: string;
}

const allowPriority = 2;
const blockPriority = 1;

/** The end of the host: an optional trailing dot, an optional port, then the path, query or fragment. */
const hostEnd = '\\.?(:[0-9]+)?([/?#]|$)';
/** Only http(s) is ever fetched (fetch() refuses other schemes, redirects included). */
const scheme = '^https?://';

/** Every port except 80 and 443, written without look-around (RE2). */
const otherPorts = [
  '[0-9]',
  '[1-79][0-9]',
  '8[1-9]',
  '[1-35-9][0-9][0-9]',
  '4[0-35-9][0-9]',
  '44[0-24-9]',
  '[0-9]{4,}',
].join('|');

/** Non-public IPv4 ranges, as the start of a dotted-decimal host (see `classifyIp` in the URL guard). */
const privateIpv4Prefixes = [
  '0\\.',
  '10\\.',
  '100\\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\\.',
  '127\\.',
  '169\\.254\\.',
  '172\\.(1[6-9]|2[0-9]|3[01])\\.',
  '192\\.0\\.[02]\\.',
  '192\\.31\\.196\\.',
  '192\\.52\\.193\\.',
  '192\\.88\\.99\\.',
  '192\\.168\\.',
  '192\\.175\\.48\\.',
  '198\\.1[89]\\.',
  '198\\.51\\.100\\.',
  '203\\.0\\.113\\.',
  '(22[4-9]|2[3-5][0-9])\\.',
];

/** Names that only mean something inside a network: the URL guard's own list, escaped for RE2. */
const localNameSuffixes = localSuffixes.map((suffix) => suffix.replaceAll('.', '\\.'));

/** What each block rule stops, one concern per rule (small patterns stay within RE2's memory limit). */
export const blockPatterns: ReadonlyArray<{ name: string; regexFilter: string }> = [
  { name: 'user name or password in the URL', regexFilter: `${scheme}[^/?#]*@` },
  { name: 'a port other than 80 and 443', regexFilter: `${scheme}[^/?#@]*:(${otherPorts})([/?#]|$)` },
  {
    name: 'a private, loopback, link-local or reserved IPv4 address',
    regexFilter: `${scheme}(${privateIpv4Prefixes.slice(0, 8).join('|')})[0-9.]*${hostEnd}`,
  },
  {
    name: 'a special-purpose IPv4 address',
    regexFilter: `${scheme}(${privateIpv4Prefixes.slice(8).join('|')})[0-9.]*${hostEnd}`,
  },
  // Only global unicast (2000::/3) may pass; IPv4-mapped, loopback, ULA, link-local and multicast
  // all start with something else. Then the special ranges inside 2000::/3.
  { name: 'a non-global IPv6 address', regexFilter: `${scheme}\\[([^23]|[23][0-9a-f]{0,2}:)` },
  {
    name: 'a special-purpose IPv6 address',
    regexFilter: `${scheme}\\[(2001:(:|[0-9a-f]{1,2}:|1[0-9a-f]{2}:|db8:)|2002:|3ff[0-9a-f]:)`,
  },
  // Chromium compiles each pattern with at most 2 KB of memory: the names go four to a rule.
  ...Array.from({ length: Math.ceil(localNameSuffixes.length / 4) }, (_, index) => index * 4).map((start) => ({
    name: `a local network name (${localNameSuffixes.slice(start, start + 4).join(', ')})`,
    regexFilter: `${scheme}([^/?#@:]*\\.)?(${localNameSuffixes.slice(start, start + 4).join('|')})${hostEnd}`,
  })),
  { name: 'a single-label (intranet) name', regexFilter: `${scheme}[^/?#@:.\\[]+${hostEnd}` },
  { name: 'a cloud metadata name', regexFilter: `${scheme}(metadata\\.goog|metadata\\.azure\\.com)${hostEnd}` },
];

/** Escapes text for use inside an RE2 pattern. */
function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/**
 * The session rules for this extension: allow rules (higher priority) for exactly the test
 * origins of a test build and the server's API, then one block rule per forbidden kind of address.
 */
export function buildNetworkRules(options: NetworkRuleOptions): SessionRule[] {
  const condition = (regexFilter: string) => ({
    regexFilter,
    tabIds: [-1],
    initiatorDomains: [options.extensionId],
  });
  const allows = [
    ...options.allowedTestOrigins.map((origin) => `^${escapeRegex(new URL(origin).origin)}/`),
    `^${escapeRegex(options.serverUrl.replace(/\/+$/, ''))}/v1/`,
  ];
  return [
    ...allows.map((regexFilter, index) => ({
      id: index + 1,
      priority: allowPriority,
      action: { type: 'allow' as const },
      condition: condition(regexFilter),
    })),
    ...blockPatterns.map((pattern, index) => ({
      id: 100 + index,
      priority: blockPriority,
      action: { type: 'block' as const },
      condition: condition(pattern.regexFilter),
    })),
  ];
}

/** The part of `browser.declarativeNetRequest` that installs session rules. */
export interface SessionRuleApi {
  getSessionRules(): Promise<Array<{ id: number }>>;
  updateSessionRules(options: { removeRuleIds?: number[]; addRules?: SessionRule[] }): Promise<void>;
}

/** Replaces every session rule of this extension with `rules`, in one update. */
export async function installSessionRules(api: SessionRuleApi, rules: SessionRule[]): Promise<void> {
  const existing = await api.getSessionRules();
  await api.updateSessionRules({ removeRuleIds: existing.map((rule) => rule.id), addRules: rules });
}
