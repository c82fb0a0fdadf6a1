import { BaseError } from '@protocol/errors';
import type { DevicePointsByDay } from '@protocol/points';
import { createApiClient, type FetchFn } from './api-client';
import type { GleanerDb } from './db';
import { loadDeviceAccount } from './device-key';
import { hasConsent, readSettings } from './settings';

/**
 * Points and labels per day come from the server, not a local tally: a page's points are settled days
 * after it was fetched (audits), and a label's only once its item is aggregated, so only the ledger knows
 * what each day's work is worth now. Reading them is not fetching, so a pause does not stop it.
 */
export async function readPointsByDay(
  { db, fetch }: { db: GleanerDb; fetch: FetchFn },
  { days, timeZone }: { days: number; timeZone: string },
): Promise<DevicePointsByDay> {
  const settings = await readSettings(db);
  if (!hasConsent(settings)) {
    throw new BaseError('conflict', 'Gleaner is not running: agree in the options first.');
  }
  const account = await loadDeviceAccount();
  if (!account) {
    throw new BaseError('conflict', 'This device has no key yet: points show once it has connected to the server.');
  }
  return createApiClient({ serverUrl: settings.serverUrl, account, fetch }).getPointsByDay(days, timeZone);
}
