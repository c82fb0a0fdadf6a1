import { describe, expect, it } from 'vitest';
import { checkUrl, classifyIp, normalizeUrl, type UrlRule } from './url-guard';

/** Every URL a hostile or careless campaign could send, with the rule that must stop it. */
const hostile: Array<[string, UrlRule]> = [
  // schemes
  ['file:///etc/passwd', 'scheme_not_http'],
  ['ftp://example.com/file', 'scheme_not_http'],
  ['javascript:alert(1)', 'scheme_not_http'],
  ['data:text/html,<script>alert(1)</script>', 'scheme_not_http'],
  ['chrome://settings', 'scheme_not_http'],
  ['chrome-extension://abcdef/popup.html', 'scheme_not_http'],
  ['ws://example.com/socket', 'scheme_not_http'],
  ['gopher://example.com:70/', 'scheme_not_http'],
  ['blob:https://example.com/uuid', 'scheme_not_http'],
  // ports
  ['http://example.com:8080/', 'port_not_allowed'],
  ['https://example.com:22/', 'port_not_allowed'],
  ['http://example.com:6379/', 'port_not_allowed'],
  ['https://example.com:8443/admin', 'port_not_allowed'],
  // userinfo
  ['http://user:pass@example.com/', 'userinfo_present'],
  ['http://admin@example.com/', 'userinfo_present'],
  ['https://example.com@evil.example/', 'userinfo_present'],
  // IPv4 loopback, private, link-local, CGNAT, multicast, reserved, in every encoding
  ['http://127.0.0.1/', 'ip_not_public'],
  ['http://127.1/', 'ip_not_public'],
  ['http://2130706433/', 'ip_not_public'],
  ['http://0x7f000001/', 'ip_not_public'],
  ['http://0177.0.0.1/', 'ip_not_public'],
  ['http://0x7f.0x0.0x0.0x1/', 'ip_not_public'],
  ['http://017700000001/', 'ip_not_public'],
  ['http://%31%32%37.0.0.1/', 'ip_not_public'],
  ['http://127.0.0.1./', 'ip_not_public'],
  ['http://0.0.0.0/', 'ip_not_public'],
  ['http://0/', 'ip_not_public'],
  ['http://10.0.0.1/', 'ip_not_public'],
  ['http://10.255.255.255/', 'ip_not_public'],
  ['http://172.16.0.1/', 'ip_not_public'],
  ['http://172.31.255.254/', 'ip_not_public'],
  ['http://192.168.1.1/', 'ip_not_public'],
  ['http://3232235777/', 'ip_not_public'],
  ['http://0xc0a80101/', 'ip_not_public'],
  ['http://169.254.169.254/latest/meta-data/', 'ip_not_public'],
  ['http://0xa9fea9fe/', 'ip_not_public'],
  ['http://2852039166/', 'ip_not_public'],
  ['http://100.64.0.1/', 'ip_not_public'],
  ['http://100.100.100.200/', 'ip_not_public'],
  ['http://224.0.0.1/', 'ip_not_public'],
  ['http://239.255.255.250/', 'ip_not_public'],
  ['http://240.0.0.1/', 'ip_not_public'],
  ['http://255.255.255.255/', 'ip_not_public'],
  ['http://192.0.2.10/', 'ip_not_public'],
  ['http://198.18.0.1/', 'ip_not_public'],
  ['http://198.51.100.7/', 'ip_not_public'],
  ['http://203.0.113.9/', 'ip_not_public'],
  // IPv6
  ['http://[::1]/', 'ip_not_public'],
  ['http://[0:0:0:0:0:0:0:1]/', 'ip_not_public'],
  ['http://[::]/', 'ip_not_public'],
  ['http://[::ffff:127.0.0.1]/', 'ip_not_public'],
  ['http://[::ffff:7f00:1]/', 'ip_not_public'],
  ['http://[::ffff:169.254.169.254]/', 'ip_not_public'],
  ['http://[::ffff:10.0.0.1]/', 'ip_not_public'],
  ['http://[::127.0.0.1]/', 'ip_not_public'],
  ['http://[fe80::1]/', 'ip_not_public'],
  ['http://[fc00::1]/', 'ip_not_public'],
  ['http://[fd00:ec2::254]/', 'ip_not_public'],
  ['http://[ff02::1]/', 'ip_not_public'],
  ['http://[64:ff9b::7f00:1]/', 'ip_not_public'],
  ['http://[2001:db8::1]/', 'ip_not_public'],
  ['http://[2002:7f00:1::]/', 'ip_not_public'],
  ['http://[2001::1]/', 'ip_not_public'],
  // local and metadata names
  ['http://localhost/', 'host_local_name'],
  ['http://LOCALHOST./', 'host_local_name'],
  ['http://api.localhost/', 'host_local_name'],
  ['http://printer.local/', 'host_local_name'],
  ['http://db.internal/', 'host_local_name'],
  ['http://nas.lan/', 'host_local_name'],
  ['http://router.home.arpa/', 'host_local_name'],
  ['http://server.localdomain/', 'host_local_name'],
  ['http://metadata.google.internal/computeMetadata/v1/', 'host_metadata'],
  ['http://metadata.goog/', 'host_metadata'],
  ['http://wiki/', 'host_single_label'],
  ['http://intranet/', 'host_local_name'],
  ['http://router/', 'host_single_label'],
  ['http://metadata/', 'host_single_label'],
  // malformed
  ['not a url', 'invalid_url'],
  ['http://', 'invalid_url'],
  ['http://1.2.3.4.5/', 'invalid_url'],
  ['http://[::1/', 'invalid_url'],
  [`https://example.com/${'a'.repeat(2100)}`, 'url_too_long'],
  // 600 characters as typed, 5,420 once percent-encoded: past what a job's URL index can hold.
  [`https://example.com/${'漢'.repeat(600)}`, 'url_too_long'],
];

const legitimate = [
  'https://example.com/',
  'http://example.com/page?id=3',
  'https://en.wikipedia.org/wiki/Gleaning',
  'https://example.com:443/secure',
  'http://example.com:80/plain',
  'https://sub.domain.example.co.uk/a/b/c.html',
  'http://93.184.215.14/',
  'http://8.8.8.8/',
  'https://[2606:4700:4700::1111]/',
  'https://xn--bcher-kva.example/',
  'https://bücher.example/',
  'https://localhost-news.com/',
  'https://internal-audit.example.com/report',
  // 1,087 characters: dropping its tracking pair must not grow it past the limit.
  `https://example.com/login?next=${'/a/b:c,d'.repeat(130)}&utm_source=news`,
  'https://100.63.255.255/',
  'https://172.32.0.1/',
  'https://192.169.0.1/',
];

describe('URL guard', () => {
  it('covers at least sixty hostile URLs', () => {
    expect(hostile.length).toBeGreaterThanOrEqual(60);
  });

  it.each(hostile)('refuses %s (%s)', (url, rule) => {
    const verdict = checkUrl(url);
    expect(verdict).toMatchObject({ ok: false, rule });
    if (!verdict.ok) expect(verdict.reason.length).toBeGreaterThan(10);
  });

  it.each(legitimate)('allows %s', (url) => {
    expect(checkUrl(url)).toMatchObject({ ok: true });
  });

  it('allows an exact test origin only when it is given, and nothing else on that host', () => {
    const allowedTestOrigins = ['http://127.0.0.1:4321'];
    expect(checkUrl('http://127.0.0.1:4321/page', { allowedTestOrigins })).toMatchObject({ ok: true });
    expect(checkUrl('http://127.0.0.1:4321/page')).toMatchObject({ ok: false, rule: 'port_not_allowed' });
    expect(checkUrl('http://127.0.0.1:4322/page', { allowedTestOrigins })).toMatchObject({ ok: false });
    expect(checkUrl('http://127.0.0.1/page', { allowedTestOrigins })).toMatchObject({ ok: false });
    expect(checkUrl('http://u:p@127.0.0.1:4321/', { allowedTestOrigins })).toMatchObject({ ok: false });
  });
});

describe('URL normalization', () => {
  it.each([
    ['HTTPS://Example.COM:443/a#section', 'https://example.com/a'],
    ['http://example.com:80', 'http://example.com/'],
    ['https://example.com./x', 'https://example.com/x'],
    ['https://example.com/p?utm_source=x&id=2&fbclid=y', 'https://example.com/p?id=2'],
    ['https://example.com/p?utm_medium=email', 'https://example.com/p'],
    ['https://example.com/a%20b?q=1#top', 'https://example.com/a%20b?q=1'],
    // The kept pairs stay as written: not re-encoded (/ as %2F, + for spaces), so the URL fetched is the one kept.
    ['https://example.com/login?next=/a/b:c,d&utm_source=x&q=a+b', 'https://example.com/login?next=/a/b:c,d&q=a+b'],
    ['https://example.com/p?UTM_SOURCE=x&%75tm_medium=y&flag', 'https://example.com/p?flag'],
  ])('normalizes %s to %s', (input, expected) => {
    expect(normalizeUrl(input)).toBe(expected);
  });
});

describe('connected IP check', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::ffff:192.168.0.1', 'IPv4-mapped private'],
    ['fe80::1%eth0', 'non-global IPv6'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
  ])('names %s as %s', (ip, verdict) => {
    expect(classifyIp(ip)).toBe(verdict);
  });

  it.each(['93.184.215.14', '2606:4700:4700::1111', '1.1.1.1'])('accepts public %s', (ip) => {
    expect(classifyIp(ip)).toBe('public');
  });
});
