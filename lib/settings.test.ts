import { describe, expect, it } from 'vitest';
import { currentConsentVersion, hasConsent, isPaused, serverUrlSchema } from './settings';

describe('serverUrlSchema', () => {
  it('accepts http and https addresses and drops a trailing slash', () => {
    expect(serverUrlSchema.parse(' https://gleaner.example.org/ ')).toBe('https://gleaner.example.org');
    expect(serverUrlSchema.parse('http://127.0.0.1:8787')).toBe('http://127.0.0.1:8787');
    expect(serverUrlSchema.parse('https://example.org/gleaner/')).toBe('https://example.org/gleaner');
  });

  it('rejects other schemes and text that is no address, saying what to enter', () => {
    for (const text of ['ftp://example.org', 'javascript:alert(1)', 'example.org', '']) {
      const result = serverUrlSchema.safeParse(text);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.message).toMatch(/http:\/\/ or https:\/\//);
    }
  });

  it('rejects credentials, queries and fragments', () => {
    for (const text of ['https://user:pw@example.org', 'https://example.org/?a=1', 'https://example.org/#x']) {
      expect(serverUrlSchema.safeParse(text).success).toBe(false);
    }
  });
});

describe('consent and pause', () => {
  it('counts consent only when given to the current consent text', () => {
    expect(hasConsent({ consent: { given: true, at: 1, version: currentConsentVersion } })).toBe(true);
    expect(hasConsent({ consent: { given: true, at: 1, version: currentConsentVersion - 1 } })).toBe(false);
    expect(hasConsent({ consent: { given: false, at: 1, version: currentConsentVersion } })).toBe(false);
  });

  it('is paused only before the pause ends', () => {
    expect(isPaused({ pausedUntil: 2_000 }, 1_999)).toBe(true);
    expect(isPaused({ pausedUntil: 2_000 }, 2_000)).toBe(false);
    expect(isPaused({ pausedUntil: null }, 0)).toBe(false);
  });
});
