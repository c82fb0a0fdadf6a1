import { type Hex, isHex } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { browser } from 'wxt/browser';
import { z } from 'zod';
import { logger } from './logger';

/** Where the device key lives: extension storage, never visible to web pages (DESIGN §3). */
export const deviceKeyStorageKey = 'deviceKey';

const storedDeviceKeySchema = z.object({
  privateKey: z.string().refine((value): value is Hex => isHex(value) && value.length === 66, 'not a 32-byte hex key'),
  createdAt: z.number().int().nonnegative(),
});

/** The device account if a key was made already, else null. Never creates one. */
export async function loadDeviceAccount(): Promise<PrivateKeyAccount | null> {
  const stored = (await browser.storage.local.get(deviceKeyStorageKey))[deviceKeyStorageKey];
  if (stored === undefined) return null;
  const parsed = storedDeviceKeySchema.safeParse(stored);
  if (!parsed.success) {
    // A key that cannot be read is an identity already lost: the caller makes a new one.
    logger.error('The stored device key is unreadable; a new one will be made.', parsed.error.issues);
    return null;
  }
  return privateKeyToAccount(parsed.data.privateKey as Hex);
}

let creating: Promise<PrivateKeyAccount> | null = null;

/**
 * The device account, made (secp256k1) and stored on first need. Call it only after consent.
 * Concurrent first calls share one creation so a device never ends up with two keys.
 */
export function ensureDeviceAccount(): Promise<PrivateKeyAccount> {
  creating ??= (async () => {
    const existing = await loadDeviceAccount();
    if (existing) return existing;
    const privateKey = generatePrivateKey();
    await browser.storage.local.set({ [deviceKeyStorageKey]: { privateKey, createdAt: Date.now() } });
    const account = privateKeyToAccount(privateKey);
    logger.info(`Made device key ${account.address}.`);
    return account;
  })().finally(() => {
    creating = null;
  });
  return creating;
}
