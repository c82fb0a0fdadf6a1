import { describe, expect, it, vi } from 'vitest';
import type { FetchFailure } from './fetch-failure';
import { createNetworkMonitor, type WebRequestDetails } from './network-monitor';

const origin = 'chrome-extension://abcdefghijklmnopabcdefghijklmnop';

function setup(allowedTestOrigins: string[] = []) {
  const listeners = new Map<string, (details: WebRequestDetails) => void>();
  const event = (name: string) => ({
    addListener: (callback: (details: WebRequestDetails) => void) => listeners.set(name, callback),
  });
  const monitor = createNetworkMonitor(
    {
      onBeforeRequest: event('request'),
      onBeforeRedirect: event('redirect'),
      onResponseStarted: event('response'),
      onErrorOccurred: event('error'),
    },
    { extensionOrigin: origin, policy: { allowedTestOrigins } },
  );
  const emit = (name: string, details: Partial<WebRequestDetails>) =>
    listeners.get(name)?.({ requestId: '1', tabId: -1, initiator: origin, url: '', ...details });
  return { monitor, emit };
}

describe('network monitor', () => {
  it('follows the watched request through its redirects and reports the connected address', async () => {
    const { monitor, emit } = setup();
    const onViolation = vi.fn();
    const watch = monitor.watch('https://example.com/a', onViolation);
    emit('request', { url: 'https://example.com/a' });
    emit('redirect', { url: 'https://example.com/a', redirectUrl: 'https://example.com/b', ip: '93.184.216.34' });
    emit('request', { url: 'https://example.com/b' });
    emit('response', { url: 'https://example.com/b', ip: '93.184.216.34' });
    expect(await watch.settled(10)).toEqual({
      seen: true,
      hops: 1,
      ip: '93.184.216.34',
      error: undefined,
      violation: null,
    });
    expect(onViolation).not.toHaveBeenCalled();
  });

  it('ignores requests of tabs, of other extensions and of other URLs', async () => {
    const { monitor, emit } = setup();
    const watch = monitor.watch('https://example.com/a', () => {});
    emit('request', { url: 'https://example.com/a', tabId: 3 });
    emit('request', { url: 'https://example.com/a', initiator: 'chrome-extension://other', requestId: '2' });
    emit('request', { url: 'https://example.com/other', requestId: '3' });
    expect((await watch.settled(10)).seen).toBe(false);
  });

  it('recognises Firefox’s background page as this extension', async () => {
    const firefoxOrigin = 'moz-extension://0c5e8a4e-1111-2222-3333-444455556666';
    const listeners = new Map<string, (details: WebRequestDetails) => void>();
    const event = (name: string) => ({
      addListener: (callback: (details: WebRequestDetails) => void) => listeners.set(name, callback),
    });
    const monitor = createNetworkMonitor(
      {
        onBeforeRequest: event('request'),
        onBeforeRedirect: event('redirect'),
        onResponseStarted: event('response'),
        onErrorOccurred: event('error'),
      },
      { extensionOrigin: firefoxOrigin, policy: { allowedTestOrigins: [] } },
    );
    const watch = monitor.watch('https://example.com/', () => {});
    const base = { requestId: '9', tabId: -1, url: 'https://example.com/' };
    listeners.get('request')?.({ ...base, originUrl: `${firefoxOrigin}/_generated_background_page.html` });
    listeners.get('response')?.({ ...base, ip: '93.184.216.34' });
    expect(await watch.settled(10)).toMatchObject({ seen: true, ip: '93.184.216.34' });
  });

  it('calls for an abort once, at the first hop beyond the limit', () => {
    const { monitor, emit } = setup();
    const violations: FetchFailure[] = [];
    monitor.watch('https://example.com/0', (failure) => violations.push(failure));
    emit('request', { url: 'https://example.com/0' });
    for (let hop = 0; hop < 8; hop += 1) {
      emit('redirect', { url: `https://example.com/${hop}`, redirectUrl: `https://example.com/${hop + 1}` });
    }
    expect(violations.map((failure) => failure.code)).toEqual(['too_many_redirects']);
  });

  it('calls for an abort when the response comes from a private address', async () => {
    const { monitor, emit } = setup();
    const onViolation = vi.fn();
    const watch = monitor.watch('https://example.com/', onViolation);
    emit('request', { url: 'https://example.com/' });
    emit('response', { url: 'https://example.com/', ip: '192.168.1.20' });
    expect(onViolation).toHaveBeenCalledWith(expect.objectContaining({ code: 'private_ip' }));
    expect((await watch.settled(10)).violation).toMatchObject({ code: 'private_ip' });
  });

  it('refuses a response whose address Firefox reports as null, as one with no address, without throwing', async () => {
    const { monitor, emit } = setup();
    const onViolation = vi.fn();
    const watch = monitor.watch('https://example.com/a', onViolation);
    emit('request', { url: 'https://example.com/a' });
    // A redirect with no address is the browser's own (as Chrome's HSTS upgrades): followed, not refused.
    expect(() =>
      emit('redirect', { url: 'https://example.com/a', redirectUrl: 'https://example.com/b', ip: null }),
    ).not.toThrow();
    expect(() => emit('response', { url: 'https://example.com/b', ip: null })).not.toThrow();
    const seen = await watch.settled(10);
    expect(seen).toMatchObject({ hops: 1, ip: undefined, violation: { code: 'private_ip' } });
    expect(onViolation).toHaveBeenCalledTimes(1);
  });

  it('reports the net error of a blocked request', async () => {
    const { monitor, emit } = setup();
    const watch = monitor.watch('https://example.com/', () => {});
    emit('request', { url: 'https://example.com/' });
    emit('error', { url: 'https://example.com/', error: 'net::ERR_BLOCKED_BY_CLIENT' });
    expect((await watch.settled(10)).error).toBe('net::ERR_BLOCKED_BY_CLIENT');
  });

  it('forgets a disposed watch', async () => {
    const { monitor, emit } = setup();
    const onViolation = vi.fn();
    const watch = monitor.watch('https://example.com/', onViolation);
    watch.dispose();
    emit('request', { url: 'https://example.com/' });
    emit('response', { url: 'https://example.com/', ip: '10.0.0.1' });
    expect(onViolation).not.toHaveBeenCalled();
  });
});
