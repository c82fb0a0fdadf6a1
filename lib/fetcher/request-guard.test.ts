import { describe, expect, it, vi } from 'vitest';
import { serverUrlWaitMs, setupRequestGuard, shouldCancelRequest } from './request-guard';

const policy = { allowedTestOrigins: ['http://127.0.0.1:4321'] };

describe('shouldCancelRequest', () => {
  it('cancels what the URL guard refuses and keeps the server’s API and the test origins reachable', () => {
    expect(shouldCancelRequest('http://127.0.0.1:8787/v1/jobs/lease', 'http://127.0.0.1:8787', policy)).toBe(false);
    expect(shouldCancelRequest('http://127.0.0.1:8787/health', 'http://127.0.0.1:8787', policy)).toBe(true);
    expect(shouldCancelRequest('http://127.0.0.1:4321/a', null, policy)).toBe(false);
    expect(shouldCancelRequest('http://127.0.0.1:4322/trap', 'http://127.0.0.1:8787', policy)).toBe(true);
    expect(shouldCancelRequest('http://192.168.0.1/', null, policy)).toBe(true);
    expect(shouldCancelRequest('https://example.com/', null, policy)).toBe(false);
  });
});

describe('setupRequestGuard', () => {
  type Listener = (details: {
    url: string;
    tabId: number;
    originUrl?: string;
  }) => { cancel?: boolean } | Promise<{ cancel?: boolean }> | undefined;
  const ours = { tabId: -1, originUrl: 'moz-extension://abc/_generated_background_page.html' };

  it('judges only this extension’s background requests', async () => {
    let listener: Listener | undefined;
    const guard = setupRequestGuard(
      { onBeforeRequest: { addListener: (callback) => (listener = callback) } },
      { extensionOrigin: 'moz-extension://abc', policy, loadServerUrl: async () => null },
    );
    expect(await listener?.({ ...ours, url: 'http://10.0.0.1/' })).toEqual({ cancel: true });
    expect(await listener?.({ ...ours, url: 'http://127.0.0.1:8787/v1/devices' })).toEqual({ cancel: true });
    guard.setServerUrl('http://127.0.0.1:8787');
    expect(listener?.({ ...ours, url: 'http://127.0.0.1:8787/v1/devices' })).toEqual({});
    expect(listener?.({ tabId: 4, url: 'http://10.0.0.1/' })).toEqual({});
    expect(listener?.({ tabId: -1, originUrl: 'moz-extension://other/', url: 'http://10.0.0.1/' })).toEqual({});
  });

  it('lets a woken event page reach a local server it has not synced with yet, from the stored setting', async () => {
    let listener: Listener | undefined;
    let answerStored: (url: string) => void = () => {};
    const stored = new Promise<string>((resolve) => {
      answerStored = resolve;
    });
    setupRequestGuard(
      { onBeforeRequest: { addListener: (callback) => (listener = callback) } },
      { extensionOrigin: 'moz-extension://abc', policy, loadServerUrl: () => stored },
    );
    // The request arrives before the setting is read: it waits for it rather than being cancelled.
    const pending = listener?.({ ...ours, url: 'http://127.0.0.1:8787/v1/devices/me/points' });
    const trap = listener?.({ ...ours, url: 'http://192.168.0.1/' });
    answerStored('http://127.0.0.1:8787');
    expect(await pending).toEqual({});
    expect(await trap).toEqual({ cancel: true });
    expect(listener?.({ ...ours, url: 'http://127.0.0.1:8787/health' })).toEqual({ cancel: true });
  });

  it('cancels what it would have cancelled when the setting cannot be read', async () => {
    let listener: Listener | undefined;
    setupRequestGuard(
      { onBeforeRequest: { addListener: (callback) => (listener = callback) } },
      { extensionOrigin: 'moz-extension://abc', policy, loadServerUrl: () => Promise.reject(new Error('no db')) },
    );
    expect(await listener?.({ ...ours, url: 'http://127.0.0.1:8787/v1/devices' })).toEqual({ cancel: true });
  });

  it('cancels rather than holds a request forever when the setting never arrives (a blocked IndexedDB open)', async () => {
    vi.useFakeTimers();
    try {
      let listener: Listener | undefined;
      setupRequestGuard(
        { onBeforeRequest: { addListener: (callback) => (listener = callback) } },
        { extensionOrigin: 'moz-extension://abc', policy, loadServerUrl: () => new Promise<string>(() => {}) },
      );
      let answer: { cancel?: boolean } | undefined;
      void Promise.resolve(listener?.({ ...ours, url: 'http://192.168.0.1/v1/devices' })).then((value) => {
        answer = value;
      });
      await vi.advanceTimersByTimeAsync(serverUrlWaitMs);
      expect(answer).toEqual({ cancel: true });
      // Later requests do not wait again for a read that has given up.
      expect(await listener?.({ ...ours, url: 'http://10.0.0.1/' })).toEqual({ cancel: true });
    } finally {
      vi.useRealTimers();
    }
  });
});
