import { describe, expect, it } from 'vitest';
import { judgeConnectedIp, judgeRedirect, maxRedirectHops } from './network-verdicts';

const production = { allowedTestOrigins: [] };
const testBuild = { allowedTestOrigins: ['http://127.0.0.1:4321'] };

describe('judgeConnectedIp', () => {
  it('accepts public IPv4 and IPv6 addresses', () => {
    expect(judgeConnectedIp('https://example.com/', '93.184.216.34', production)).toBeNull();
    expect(judgeConnectedIp('https://example.com/', '2606:4700::1111', production)).toBeNull();
    expect(judgeConnectedIp('https://example.com/', '[2606:4700::1111]', production)).toBeNull();
  });

  it('fails private, loopback, link-local and mapped addresses as private_ip', () => {
    for (const ip of [
      '10.1.2.3',
      '127.0.0.1',
      '169.254.169.254',
      '192.168.0.10',
      '::1',
      '::ffff:10.0.0.1',
      'fe80::1',
    ]) {
      expect(judgeConnectedIp('https://example.com/', ip, production)).toMatchObject({ code: 'private_ip' });
    }
  });

  it('fails when the browser reported no address or an unreadable one', () => {
    expect(judgeConnectedIp('https://example.com/', undefined, production)).toMatchObject({ code: 'private_ip' });
    expect(judgeConnectedIp('https://example.com/', 'not-an-ip', production)).toMatchObject({ code: 'private_ip' });
  });

  it('exempts only the exact test origins of a test build', () => {
    expect(judgeConnectedIp('http://127.0.0.1:4321/a', '127.0.0.1', testBuild)).toBeNull();
    expect(judgeConnectedIp('http://127.0.0.1:4322/a', '127.0.0.1', testBuild)).toMatchObject({ code: 'private_ip' });
    expect(judgeConnectedIp('http://127.0.0.1:4321/a', '127.0.0.1', production)).toMatchObject({
      code: 'private_ip',
    });
  });
});

describe('judgeRedirect', () => {
  const hop = { count: 1, fromUrl: 'https://example.com/a', redirectUrl: 'https://example.com/b', ip: '93.184.216.34' };

  it(`allows up to ${maxRedirectHops} hops and refuses the next`, () => {
    expect(judgeRedirect({ ...hop, count: maxRedirectHops }, production)).toBeNull();
    expect(judgeRedirect({ ...hop, count: maxRedirectHops + 1 }, production)).toMatchObject({
      code: 'too_many_redirects',
    });
  });

  it('refuses a hop to an address the URL guard forbids', () => {
    for (const target of ['http://10.0.0.1/', 'http://localhost/', 'http://example.com:8080/', 'file:///etc/passwd']) {
      expect(judgeRedirect({ ...hop, redirectUrl: target }, production)).toMatchObject({ code: 'redirect_blocked' });
    }
    expect(judgeRedirect({ ...hop, redirectUrl: 'http://127.0.0.1:4322/' }, testBuild)).toMatchObject({
      code: 'redirect_blocked',
    });
  });

  it('refuses a redirect sent from a private address, but not an internal one without an address', () => {
    expect(judgeRedirect({ ...hop, ip: '10.0.0.1' }, production)).toMatchObject({ code: 'private_ip' });
    expect(judgeRedirect({ ...hop, ip: undefined }, production)).toBeNull();
  });
});
