import { describe, expect, it } from 'vitest';
import { consoleDashboardUrl, consoleLinkUrl, describeWalletLinkError, formatTimeLeft } from './wallet-link';

const device = '0x8ba1f109551bD432803012645Ac136ddd64DBA72';

describe('console addresses', () => {
  it('prefills the link page with the device and its code, under the server the extension uses', () => {
    const url = new URL(consoleLinkUrl('http://127.0.0.1:8787', device, 'ABCD2345'));
    expect(url.origin).toBe('http://127.0.0.1:8787');
    expect(url.hash).toBe(`#/rewards/link?device=${device}&code=ABCD2345`);
  });

  it('keeps a path prefix of a server behind a reverse proxy, without doubling a trailing slash', () => {
    expect(consoleDashboardUrl('https://example.org/gleaner/')).toBe('https://example.org/gleaner/#/rewards');
    expect(consoleLinkUrl('https://example.org/gleaner', device, 'ABCD2345')).toBe(
      `https://example.org/gleaner/#/rewards/link?device=${device}&code=ABCD2345`,
    );
  });

  it('points the dashboard at the console of the configured server', () => {
    expect(consoleDashboardUrl('https://gleaner.example.org')).toBe('https://gleaner.example.org/#/rewards');
  });
});

describe('formatTimeLeft', () => {
  const expiresAt = Date.parse('2025-06-01T12:10:00Z');

  it('counts down in minutes and seconds, rounding a started second up', () => {
    expect(formatTimeLeft(expiresAt, expiresAt - 10 * 60_000)).toBe('10:00');
    expect(formatTimeLeft(expiresAt, expiresAt - 65_000)).toBe('1:05');
    expect(formatTimeLeft(expiresAt, expiresAt - 500)).toBe('0:01');
  });

  it('stops at 0:00 once the code has expired', () => {
    expect(formatTimeLeft(expiresAt, expiresAt)).toBe('0:00');
    expect(formatTimeLeft(expiresAt, expiresAt + 90_000)).toBe('0:00');
  });
});

describe('describeWalletLinkError', () => {
  it('says a rate limit in words with the wait the server asked for', () => {
    const text = describeWalletLinkError({
      code: 'rate_limited',
      message: 'Device 0x… sent more than 120 signed requests in a minute; retry in 42 s.',
      details: { status: 429, retryAfterSeconds: 42 },
    });
    expect(text).toBe(
      "The server is refusing this device's requests for a moment: too many in the last minute. Try again in 42 seconds.",
    );
  });

  it('asks for a minute when an overloaded server named no wait', () => {
    expect(describeWalletLinkError({ code: 'overloaded', message: 'x' })).toBe(
      'The server is too busy to answer right now. Try again in a minute.',
    );
  });

  it("keeps the client's own words for an unreachable server", () => {
    const message =
      'Could not reach the Gleaner server at https://gleaner.example.org. Check your internet connection.';
    expect(describeWalletLinkError({ code: 'server_unreachable', message })).toBe(message);
  });
});
