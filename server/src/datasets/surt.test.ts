import { describe, expect, it } from 'vitest';
import { getSurt } from 'warcio/utils';
import { cdxjLine, cdxTimestamp } from './cdxj';
import { surtKey } from './surt';

describe('surtKey', () => {
  it.each([
    ['http://www.archive.org/goo/?a=2&b&a=1', 'org,archive)/goo?a=1&a=2&b'],
    ['https://Example.COM/', 'com,example)/'],
    ['https://example.com', 'com,example)/'],
    ['http://www3.example.com/A/B.html', 'com,example)/a/b.html'],
    ['http://wwwexample.com/', 'com,wwwexample)/'],
    ['https://sub.www.example.com/x', 'com,example,www,sub)/x'],
    ['http://example.com:80/x', 'com,example)/x'],
    ['https://example.com:443/x', 'com,example)/x'],
    ['http://example.com:443/x', 'com,example:443)/x'],
    ['https://example.com:8443/x/', 'com,example:8443)/x'],
    ['https://user:secret@example.com/x#fragment', 'com,example)/x'],
    ['https://example.com./x', 'com,example)/x'],
    ['http://192.168.1.254/info/', '192.168.1.254)/info'],
    ['http://[2001:db8::1]:8080/x', '[2001:db8::1]:8080)/x'],
    ['https://example.com/x?', 'com,example)/x'],
    ['https://example.com/x?B=1&a=2&&', 'com,example)/x?a=2&b=1'],
    ['https://bücher.example/straße', 'example,xn--bcher-kva)/stra%c3%9fe'],
    ['https://example.com/a b?q=c d', 'com,example)/a%20b?q=c%20d'],
  ])('%s → %s', (url, key) => {
    expect(surtKey(url)).toBe(key);
  });

  it('agrees with warcio where warcio canonicalises the same way', () => {
    for (const url of [
      'http://www.archive.org/goo?a=2&b&a=1',
      'https://Example.COM/Path/Page.html?z=1&y=2',
      'https://news.bbc.co.uk/sport',
      'https://example.com:8443/x',
    ]) {
      expect(surtKey(url)).toBe(getSurt(url));
    }
  });

  it('gives an ASCII key with no spaces for anything, even what no URL parser accepts', () => {
    for (const url of [
      'not a url',
      'mailto:Someone@Example.com',
      'https://example.com/\u{1F600}?\u00e9=\u00e8',
      '\ud800 lone surrogate',
      `https://example.com/${'long/'.repeat(5000)}`,
      'https://example.com/\t\n\r',
    ]) {
      expect(surtKey(url)).toMatch(/^[\x21-\x7e]+$/);
    }
  });
});

describe('cdxjLine', () => {
  it('writes pywb CDXJ: key, 14-digit UTC timestamp and string-valued JSON, all in ASCII', () => {
    const line = cdxjLine({
      url: 'https://www.example.com/caf%C3%A9',
      date: '2026-11-28T23:59:59.999Z',
      mime: 'text/plain',
      status: 200,
      digest: 'ab'.repeat(32),
      length: 512,
      offset: 1024,
      filename: 'données.warc.gz',
    });
    expect(line).toBe(
      'com,example)/caf%c3%a9 20261128235959 {"url":"https://www.example.com/caf%C3%A9","mime":"text/plain",' +
        `"status":"200","digest":"${'ab'.repeat(32)}","length":"512","offset":"1024","filename":"donn\\u00e9es.warc.gz"}`,
    );
    expect(JSON.parse(line.slice(line.indexOf('{'))).filename).toBe('données.warc.gz');
  });

  it('turns any ISO date into UTC seconds and refuses what is not a date', () => {
    expect(cdxTimestamp('2026-01-02T03:04:05.678+02:00')).toBe('20260102010405');
    expect(() => cdxTimestamp('yesterday')).toThrow('not a date');
  });
});
