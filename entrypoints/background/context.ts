import type { DeviceRegistration } from '@protocol/devices';
import { browser } from 'wxt/browser';
import type { FetchFn } from '@/lib/api-client';
import { GleanerDb } from '@/lib/db';
import type { Status } from '@/lib/messages';
import { readSettings } from '@/lib/settings';

/** What the background's handlers work with; tests build one with a fresh database and a fake server. */
export interface BackgroundContext {
  db: GleanerDb;
  fetch: FetchFn;
  now: () => number;
  extensionVersion: string;
  browserName: DeviceRegistration['browser'];
  /**
   * Lets this extension's requests reach `serverUrl` through the network guards (which block local
   * addresses, and a development server is one); called before contacting the server.
   */
  prepareNetwork?: (serverUrl: string) => Promise<void>;
}

/** The real context. Call it inside `defineBackground`, never at module scope: it touches `browser.*`. */
export function createBackgroundContext(): BackgroundContext {
  return {
    db: new GleanerDb(),
    // Called through a wrapper: a bare `fetch` stored on an object throws "Illegal invocation" in workers.
    fetch: (input, init) => globalThis.fetch(input, init),
    now: () => Date.now(),
    extensionVersion: browser.runtime.getManifest().version,
    browserName: import.meta.env.FIREFOX ? 'firefox' : import.meta.env.CHROME ? 'chrome' : 'other',
  };
}

/** The status pages see: the settings the background acts on and its link to the server. */
export async function readStatus(ctx: BackgroundContext): Promise<Status> {
  return { ...(await readSettings(ctx.db)), extensionVersion: ctx.extensionVersion };
}
