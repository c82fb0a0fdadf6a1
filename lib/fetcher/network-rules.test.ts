import { checkUrl, classifyIp } from '@protocol/url-guard';
import { describe, expect, it, vi } from 'vitest';
import { ruleActionFor } from '../testing/network-rules-matcher';
import { blockPatterns, buildNetworkRules, installSessionRules } from './network-rules';

const extensionId = 'abcdefghijklmnopabcdefghijklmnop';
const production = buildNetworkRules({ extensionId, allowedTestOrigins: [], serverUrl: 'https://gleaner.example.org' });
const blocked = (url: string, rules = production) => ruleActionFor(rules, url) === 'block';

describe('buildNetworkRules', () => {
  it('scopes every rule to this extension’s own tabless requests', () => {
    for (const rule of production) {
      expect(rule.condition.tabIds).toEqual([-1]);
      expect(rule.condition.initiatorDomains).toEqual([extensionId]);
    }
    expect(new Set(production.map((rule) => rule.id)).size).toBe(production.length);
  });

  it('in production allows only the server’s API above the block rules', () => {
    const allows = production.filter((rule) => rule.action.type === 'allow');
    expect(allows.map((rule) => rule.condition.regexFilter)).toEqual(['^https://gleaner\\.example\\.org/v1/']);
    const blocks = production.filter((rule) => rule.action.type === 'block');
    expect(blocks).toHaveLength(blockPatterns.length);
    for (const allow of allows) for (const block of blocks) expect(allow.priority).toBeGreaterThan(block.priority);
  });

  it('in a test build allows exactly the test origins, and no other port of the same host', () => {
    const rules = buildNetworkRules({
      extensionId,
      allowedTestOrigins: ['http://127.0.0.1:4321'],
      serverUrl: 'http://127.0.0.1:8787',
    });
    expect(ruleActionFor(rules, 'http://127.0.0.1:4321/article/1')).toBe('allow');
    expect(ruleActionFor(rules, 'http://127.0.0.1:8787/v1/jobs/lease')).toBe('allow');
    expect(ruleActionFor(rules, 'http://127.0.0.1:8787/health')).toBe('block');
    expect(ruleActionFor(rules, 'http://127.0.0.1:43210/')).toBe('block');
    expect(ruleActionFor(rules, 'http://127.0.0.1:4322/stolen')).toBe('block');
    expect(ruleActionFor(rules, 'http://127.0.0.1/')).toBe('block');
    expect(ruleActionFor(rules, 'http://127.0.0.1.evil.example:4321/')).toBe('block');
  });

  it('blocks every IPv4 address the URL guard calls non-public, and no public one', () => {
    const samples: string[] = [];
    // Both edges of every range, and a spread of addresses across the whole space.
    const edges = [
      '0.0.0.0',
      '0.255.255.255',
      '1.0.0.0',
      '9.255.255.255',
      '10.0.0.0',
      '10.255.255.255',
      '11.0.0.0',
      '100.63.255.255',
      '100.64.0.0',
      '100.127.255.255',
      '100.128.0.0',
      '126.255.255.255',
      '127.0.0.1',
      '128.0.0.0',
      '169.253.255.255',
      '169.254.0.0',
      '169.254.169.254',
      '169.255.0.0',
      '172.15.255.255',
      '172.16.0.0',
      '172.31.255.255',
      '172.32.0.0',
      '192.0.0.255',
      '192.0.1.0',
      '192.0.2.1',
      '192.0.3.0',
      '192.31.196.1',
      '192.52.193.1',
      '192.88.99.1',
      '192.88.100.1',
      '192.167.255.255',
      '192.168.0.0',
      '192.168.255.255',
      '192.169.0.0',
      '192.175.48.1',
      '198.17.255.255',
      '198.18.0.0',
      '198.19.255.255',
      '198.20.0.0',
      '198.51.100.1',
      '203.0.113.1',
      '203.0.114.1',
      '223.255.255.255',
      '224.0.0.0',
      '239.255.255.255',
      '240.0.0.1',
      '255.255.255.255',
      '8.8.8.8',
      '93.184.216.34',
    ];
    samples.push(...edges);
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 3000; i += 1) {
      samples.push(Array.from({ length: 4 }, () => Math.floor(random() * 256)).join('.'));
    }
    for (const ip of samples) {
      const url = `http://${ip}/x`;
      expect({ ip, blocked: blocked(url) }).toEqual({ ip, blocked: classifyIp(ip) !== 'public' });
    }
  });

  it('blocks encoded IPv4 forms once the URL is canonicalized', () => {
    for (const url of [
      'http://2130706433/',
      'http://0x7f000001/',
      'http://0177.0.0.1/',
      'http://127.1/',
      'http://0xa9fea9fe/',
    ]) {
      expect({ url, blocked: blocked(url) }).toEqual({ url, blocked: true });
    }
  });

  it('blocks non-global and special-purpose IPv6 literals and lets global ones through', () => {
    const forbidden = [
      'http://[::1]/',
      'http://[::]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:8.8.8.8]/',
      'http://[fc00::1]/',
      'http://[fd12:3456::1]/',
      'http://[fe80::1]/',
      'http://[ff02::1]/',
      'http://[64:ff9b::808:808]/',
      'http://[2001:db8::1]/',
      'http://[2001::1]/',
      'http://[2001:10::1]/',
      'http://[2001:1ff::1]/',
      'http://[2002:c0a8:101::1]/',
      'http://[3ffe::1]/',
      'http://[200::1]/',
      'http://[::a00:1]/',
    ];
    for (const url of forbidden) {
      expect(checkUrl(url).ok).toBe(false);
      expect({ url, blocked: blocked(url) }).toEqual({ url, blocked: true });
    }
    for (const url of [
      'http://[2606:4700::1111]/',
      'http://[2a00:1450:4001::200e]/',
      'http://[2001:4860:4860::8888]/',
    ]) {
      expect(checkUrl(url).ok).toBe(true);
      expect({ url, blocked: blocked(url) }).toEqual({ url, blocked: false });
    }
  });

  it('blocks local and single-label names, other ports and user info, as the URL guard does', () => {
    const forbidden = [
      'http://localhost/',
      'http://localhost./',
      'http://api.localhost/',
      'http://printer.local/',
      'http://db.internal/',
      'http://nas.lan/',
      'http://router.home.arpa/',
      'http://box.localdomain/',
      'http://wiki.intranet/',
      'http://git.corp/',
      'http://x.private/',
      'http://site.test/',
      'http://x.invalid/',
      'http://abc.onion/',
      'http://x.alt/',
      'http://intranet/',
      'http://router:8080/',
      'http://metadata.google.internal/',
      'http://metadata.goog/',
      'http://metadata.azure.com/',
      'http://instance-data.ec2.internal/',
      'http://example.com:8080/',
      'https://example.com:22/',
      'http://example.com:0/',
      'http://example.com:1/',
      'http://example.com:81/',
      'http://example.com:444/',
      'http://example.com:442/',
      'http://example.com:800/',
      'http://example.com:4430/',
      'http://user:pass@example.com/',
      'http://admin@example.com/',
    ];
    for (const url of forbidden) {
      expect(checkUrl(url).ok).toBe(false);
      expect({ url, blocked: blocked(url) }).toEqual({ url, blocked: true });
    }
  });

  it('lets ordinary public addresses through', () => {
    const allowed = [
      'https://example.com/',
      'http://example.com/',
      'https://example.com:443/a',
      'http://example.com:80/?q=1',
      'https://news.example.org/story?id=1#top',
      'https://localhost.example.com/',
      'https://local.news/',
      'https://my-local.com/',
      'https://10.example.com/',
      'https://127.0.0.1.nip.io/',
      'http://93.184.216.34/',
      'https://example.com/path:8080',
      'https://example.com/?at=user@example.com',
      'https://xn--bcher-kva.example/',
    ];
    for (const url of allowed) expect({ url, blocked: blocked(url) }).toEqual({ url, blocked: false });
  });
});

describe('block patterns', () => {
  it('stay small: Chromium refuses a pattern over 2 KB compiled (all of these passed isRegexSupported in Chromium 156)', () => {
    for (const pattern of blockPatterns) expect(pattern.regexFilter.length).toBeLessThanOrEqual(180);
  });
});

describe('installSessionRules', () => {
  it('replaces every existing session rule in one update', async () => {
    const api = {
      getSessionRules: vi.fn(async () => [{ id: 1 }, { id: 100 }, { id: 7 }]),
      updateSessionRules: vi.fn(async () => {}),
    };
    await installSessionRules(api, production);
    expect(api.updateSessionRules).toHaveBeenCalledExactlyOnceWith({
      removeRuleIds: [1, 100, 7],
      addRules: production,
    });
  });
});
