/**
 * SURT (Sort-friendly URI Reordering Transform) keys as pywb and the Internet Archive's `surt` package write
 * them in CDX/CDXJ indexes: `http://www.Example.com:8080/A/b/?z=1&a=2#top` becomes
 * `com,example:8080)/a/b?a=2&z=1`. Scheme, `www.`, user info, default ports, the fragment and a trailing
 * slash are dropped; host labels are reversed; everything is lower case; query arguments are sorted.
 * Not done (as pywb's default canonicaliser would): stripping session ids from paths and queries.
 */

/** The SURT key of a URL: pure ASCII with no spaces, so it sorts the same as bytes and splits on the first space. */
export function surtKey(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return asciiKey(url.toLowerCase());
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return asciiKey(parsed.href.toLowerCase());

  // The WHATWG parser already lower-cases and punycodes the host and drops default ports (:80, :443).
  let host = parsed.hostname.replace(/\.$/, '').replace(/^www\d*\./, '');
  // IP addresses stay in their own order, as in the surt package; only names are reversed.
  const isIpAddress = /^\d+\.\d+\.\d+\.\d+$/.test(host) || host.startsWith('[');
  if (!isIpAddress) host = host.split('.').reverse().join(',');
  const port = parsed.port ? `:${parsed.port}` : '';

  let path = parsed.pathname;
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  const query = parsed.search
    .slice(1)
    .toLowerCase()
    .split('&')
    .filter((argument) => argument !== '')
    .sort()
    .join('&');

  return asciiKey(`${host}${port})${path}${query ? `?${query}` : ''}`.toLowerCase());
}

/** Percent-encodes what the URL parser may leave (spaces, control and non-ASCII characters) as UTF-8. */
function asciiKey(key: string): string {
  // A lone surrogate cannot be encoded as UTF-8: it becomes U+FFFD, as it would in any UTF-8 file.
  return key.toWellFormed().replace(/[^\x21-\x7e]+/gu, (run) => encodeURIComponent(run).toLowerCase());
}
