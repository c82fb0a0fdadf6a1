/**
 * The URL rules of DESIGN §4, as one pure module: the extension checks every URL and redirect hop
 * with it, and the server vets every campaign URL with it, so the two can never disagree.
 *
 * The WHATWG URL parser does the decoding: it turns decimal, octal, hex and short IPv4 forms,
 * percent-encoded hosts and IDNs into one canonical host, so the rules below judge that host.
 */

export type UrlRule =
  | 'invalid_url'
  | 'url_too_long'
  | 'scheme_not_http'
  | 'port_not_allowed'
  | 'userinfo_present'
  | 'ip_not_public'
  | 'host_local_name'
  | 'host_single_label'
  | 'host_metadata';

export type UrlCheck = { ok: true; url: string } | { ok: false; rule: UrlRule; reason: string };

export interface UrlGuardOptions {
  /**
   * Exact origins (`http://127.0.0.1:4321`) a test build may fetch although the rules forbid them.
   * Production builds pass none.
   */
  allowedTestOrigins?: readonly string[];
}

export const maxUrlLength = 2048;

/** Names that only mean something inside a home, office or cloud network. */
export const localSuffixes = [
  'localhost',
  'local',
  'internal',
  'lan',
  'home.arpa',
  'localdomain',
  'intranet',
  'corp',
  'private',
  'test',
  'invalid',
  'onion',
  'alt',
];

/** Cloud metadata endpoints reachable by name (their IPs are blocked as link-local or private anyway). */
const metadataHosts = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata.azure.com',
  'instance-data.ec2.internal',
]);

const blocked = (rule: UrlRule, reason: string): UrlCheck => ({ ok: false, rule, reason });

/**
 * The URL in its canonical form, if that is within the limit too: percent-encoding can make a short link of
 * non-ASCII characters eight times longer (600 CJK characters became 5,432), past what the index holds.
 */
function normalizedWithinLimit(url: URL): UrlCheck {
  const normalized = normalizeParsedUrl(url);
  return normalized.length > maxUrlLength
    ? blocked('url_too_long', `URLs longer than ${maxUrlLength} characters (once percent-encoded) are refused.`)
    : { ok: true, url: normalized };
}

/** Checks one URL against every rule; on success returns it normalized (see `normalizeUrl`). */
export function checkUrl(input: string, options: UrlGuardOptions = {}): UrlCheck {
  if (input.length > maxUrlLength)
    return blocked('url_too_long', `URLs longer than ${maxUrlLength} characters are refused.`);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return blocked('invalid_url', 'Not a valid absolute URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return blocked('scheme_not_http', `Only http and https are fetched, not ${url.protocol.slice(0, -1)}.`);
  }
  if (options.allowedTestOrigins?.includes(url.origin) && !url.username && !url.password) {
    return normalizedWithinLimit(url);
  }
  if (url.username || url.password)
    return blocked('userinfo_present', 'URLs with a user name or password are refused.');
  if (url.port !== '' && url.port !== '80' && url.port !== '443') {
    return blocked('port_not_allowed', `Only ports 80 and 443 are fetched, not ${url.port}.`);
  }
  const host = url.hostname.replace(/\.$/, '');
  const ipVerdict = host.startsWith('[') ? checkIpv6(host.slice(1, -1)) : isIpv4(host) ? checkIpv4(host) : undefined;
  if (ipVerdict !== undefined) {
    return ipVerdict === 'public'
      ? normalizedWithinLimit(url)
      : blocked('ip_not_public', `${host} is a ${ipVerdict} address; only public unicast addresses are fetched.`);
  }
  if (metadataHosts.has(host)) return blocked('host_metadata', `${host} is a cloud metadata service.`);
  const suffix = localSuffixes.find((name) => host === name || host.endsWith(`.${name}`));
  if (suffix) return blocked('host_local_name', `Hosts under .${suffix} are local names, never public sites.`);
  if (!host.includes('.')) return blocked('host_single_label', `${host} is a single-label (intranet) name.`);
  return normalizedWithinLimit(url);
}

/** Tracking parameters that change the URL but not the page. */
const trackingParameters = /^(utm_[a-z]+|fbclid|gclid|dclid|msclkid|mc_eid|mc_cid|_ga|igshid)$/i;

/**
 * The canonical form used to deduplicate URLs: lower-case scheme and host (the parser does that),
 * no default port, no fragment, no trailing dot on the host, no tracking parameters.
 */
export function normalizeUrl(input: string): string {
  return normalizeParsedUrl(new URL(input));
}

/** The decoded name of one `name=value` pair of a query (as URLSearchParams reads it); the raw text if it is not decodable. */
function queryName(pair: string): string {
  const name = pair.split('=', 1)[0] ?? '';
  try {
    return decodeURIComponent(name.replaceAll('+', ' '));
  } catch {
    return name;
  }
}

function normalizeParsedUrl(parsed: URL): string {
  const url = new URL(parsed.href);
  url.hash = '';
  if (url.hostname.endsWith('.')) url.hostname = url.hostname.slice(0, -1);
  if ((url.protocol === 'http:' && url.port === '80') || (url.protocol === 'https:' && url.port === '443'))
    url.port = '';
  // Pairs are dropped from the query as written: re-encoding the kept ones (URLSearchParams writes "/" as %2F)
  // would make a URL other than the one fetched, and up to three times as long.
  const pairs = url.search.slice(1).split('&');
  const kept = pairs.filter((pair) => !trackingParameters.test(queryName(pair)));
  if (kept.length !== pairs.length) url.search = kept.length === 0 ? '' : `?${kept.join('&')}`;
  return url.href;
}

/** What kind of address an IP is: 'public' or the name of the range that makes it unsafe. */
export type IpVerdict = 'public' | string;

/** Classifies an IP literal as reported by the browser (`webRequest` details.ip): v4 or v6, brackets optional. */
export function classifyIp(ip: string): IpVerdict | undefined {
  const bare = ip.startsWith('[') ? ip.slice(1, -1) : ip;
  if (isIpv4(bare)) return checkIpv4(bare);
  if (bare.includes(':')) return checkIpv6(bare);
  return undefined;
}

function isIpv4(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) && host.split('.').every((part) => Number(part) <= 255);
}

function ipv4ToNumber(host: string): number {
  return host.split('.').reduce((value, part) => value * 256 + Number(part), 0);
}

/** Non-public IPv4 ranges (RFC 6890 and friends): [first address, prefix length, name]. */
const ipv4Ranges: Array<[string, number, string]> = [
  ['0.0.0.0', 8, '"this network"'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignment'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.31.196.0', 24, 'AS112'],
  ['192.52.193.0', 24, 'AMT'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['192.175.48.0', 24, 'AS112'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

function checkIpv4(host: string): IpVerdict {
  const value = ipv4ToNumber(host);
  for (const [first, prefix, name] of ipv4Ranges) {
    const size = 2 ** (32 - prefix);
    const start = ipv4ToNumber(first);
    if (value >= start && value < start + size) return name;
  }
  return 'public';
}

/** Expands an IPv6 literal (with optional embedded IPv4 tail) into eight 16-bit groups. */
function ipv6Groups(text: string): number[] | undefined {
  let address = text.toLowerCase().replace(/%.*$/, '');
  const v4Tail = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (v4Tail?.[1]) {
    if (!isIpv4(v4Tail[1])) return undefined;
    const value = ipv4ToNumber(v4Tail[1]);
    address = `${address.slice(0, -v4Tail[1].length)}${(value >>> 16).toString(16)}:${(value & 0xffff).toString(16)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((group) => Number.parseInt(group, 16)));
  const head = parse(halves[0] ?? '');
  const tail = halves.length === 2 ? parse(halves[1] ?? '') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined;
  const groups = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : undefined;
}

function checkIpv6(text: string): IpVerdict {
  const groups = ipv6Groups(text);
  if (!groups) return 'malformed IPv6';
  const [g0 = 0, g1 = 0, , , , g5 = 0, g6 = 0, g7 = 0] = groups;
  const embeddedV4 = `${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`;
  if (groups.slice(0, 5).every((group) => group === 0) && g5 === 0xffff) {
    const inner = checkIpv4(embeddedV4);
    return inner === 'public' ? 'IPv4-mapped IPv6' : `IPv4-mapped ${inner}`;
  }
  if (groups.every((group) => group === 0)) return 'unspecified';
  if (groups.slice(0, 7).every((group) => group === 0) && g7 === 1) return 'loopback';
  // Only global unicast (2000::/3) is public; that excludes ULA fc00::/7, link-local fe80::/10,
  // multicast ff00::/8, NAT64 64:ff9b::/96 and the deprecated IPv4-compatible ::a.b.c.d.
  if ((g0 & 0xe000) !== 0x2000) return 'non-global IPv6';
  if (g0 === 0x2001 && g1 === 0x0db8) return 'documentation';
  if (g0 === 0x2001 && g1 < 0x0200) return 'IETF special-purpose (Teredo, ORCHID, benchmarking)';
  if (g0 === 0x2002) return '6to4 (embeds an IPv4 address)';
  if ((g0 & 0xfff0) === 0x3ff0) return 'documentation';
  return 'public';
}
