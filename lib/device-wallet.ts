import { BaseError } from '@protocol/errors';
import type { PrivateKeyAccount } from 'viem';
import { createApiClient, type FetchFn } from './api-client';
import type { GleanerDb } from './db';
import { loadDeviceAccount } from './device-key';
import { hasConsent, readSettings } from './settings';
import type { ShownDeviceWallet, ShownLinkCode } from './wallet-link';

/** What the background passes in: its database and its fetch (a fake server's in tests). */
interface DeviceWalletDeps {
  db: GleanerDb;
  fetch: FetchFn;
}

/**
 * The device key and server to sign with. Linking is not fetching, so a pause does not stop it; but
 * nothing is sent before consent, and a device without a key has nothing to link.
 */
async function deviceClient({ db, fetch }: DeviceWalletDeps) {
  const settings = await readSettings(db);
  if (!hasConsent(settings)) {
    throw new BaseError('conflict', 'Gleaner is not running: agree in the options first, then link a wallet.');
  }
  const account: PrivateKeyAccount | null = await loadDeviceAccount();
  if (!account) {
    throw new BaseError(
      'conflict',
      'This device has no key yet. Wait until the connection says Connected, then try again.',
    );
  }
  const api = createApiClient({ serverUrl: settings.serverUrl, account, fetch });
  return { api, device: account.address, serverUrl: settings.serverUrl };
}

/** Asks the server for a fresh one-time link code for this device (signed by the device key). */
export async function requestLinkCode(deps: DeviceWalletDeps): Promise<ShownLinkCode> {
  const { api, device, serverUrl } = await deviceClient(deps);
  return { ...(await api.createLinkCode()), device, serverUrl };
}

/** Reads from the server which wallet this device's points go to (null while unlinked). */
export async function readDeviceWallet(deps: DeviceWalletDeps): Promise<ShownDeviceWallet> {
  const { api, device, serverUrl } = await deviceClient(deps);
  return { ...(await api.getWallet()), device, serverUrl };
}
