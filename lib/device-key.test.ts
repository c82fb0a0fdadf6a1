import { isAddress } from 'viem';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeBrowser } from 'wxt/testing/fake-browser';
import { deviceKeyStorageKey, ensureDeviceAccount, loadDeviceAccount } from './device-key';

beforeEach(() => {
  fakeBrowser.reset();
  vi.restoreAllMocks();
});

describe('device key', () => {
  it('does not exist until it is first needed', async () => {
    expect(await loadDeviceAccount()).toBeNull();
    expect(await fakeBrowser.storage.local.get(null)).toEqual({});
  });

  it('is made once, kept in extension storage, and returned the same afterwards', async () => {
    vi.spyOn(console, 'info').mockImplementation(() => {});
    const first = await ensureDeviceAccount();
    expect(isAddress(first.address)).toBe(true);
    const stored = (await fakeBrowser.storage.local.get(deviceKeyStorageKey))[deviceKeyStorageKey];
    expect(stored).toMatchObject({ privateKey: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    expect((await ensureDeviceAccount()).address).toBe(first.address);
    expect((await loadDeviceAccount())?.address).toBe(first.address);
  });

  it('makes a single key when first asked for it twice at once', async () => {
    vi.spyOn(console, 'info').mockImplementation(() => {});
    const [a, b] = await Promise.all([ensureDeviceAccount(), ensureDeviceAccount()]);
    expect(a.address).toBe(b.address);
    expect((await loadDeviceAccount())?.address).toBe(a.address);
  });

  it('replaces a stored key that cannot be read', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    vi.spyOn(console, 'info').mockImplementation(() => {});
    await fakeBrowser.storage.local.set({ [deviceKeyStorageKey]: { privateKey: 'nope', createdAt: 1 } });
    expect(await loadDeviceAccount()).toBeNull();
    const account = await ensureDeviceAccount();
    expect((await loadDeviceAccount())?.address).toBe(account.address);
  });
});
