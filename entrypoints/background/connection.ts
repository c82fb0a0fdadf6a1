import { logger } from '@/lib/logger';
import { hasConsent, readSettings, writeSettings } from '@/lib/settings';
import type { BackgroundContext } from './context';

/**
 * Wraps the context's fetch so that a request to the configured server that gets no answer at all
 * (refused, reset, timed out) marks the device offline at once, whoever sent it: an upload, a lease,
 * the points. Without this the state said "Connected" until the next heartbeat, up to a minute
 * later. An answer, even an error, is not a lost connection; the sync decides what it means. Page
 * and image fetches go through the same fetch and are told apart by their address.
 */
export function watchServerReachability<T extends BackgroundContext>(ctx: T): T {
  const fetch: BackgroundContext['fetch'] = async (input, init) => {
    try {
      return await ctx.fetch(input, init);
    } catch (error) {
      await markOfflineIfServer(ctx, input, error).catch((cause) =>
        logger.warn('Could not store the offline state.', cause),
      );
      throw error;
    }
  };
  return { ...ctx, fetch };
}

async function markOfflineIfServer(ctx: BackgroundContext, input: string, error: unknown): Promise<void> {
  const { db } = ctx;
  await db.transaction('rw', db.settings, async () => {
    const settings = await readSettings(db);
    if (!input.startsWith(`${settings.serverUrl}/`)) return;
    // A withdrawal or another server while the request was under way must stay as it is.
    const { state } = settings.connection;
    if (!hasConsent(settings) || (state !== 'connected' && state !== 'registering')) return;
    const timedOut = error instanceof DOMException && error.name === 'TimeoutError';
    const origin = new URL(settings.serverUrl).origin;
    const lastError = timedOut
      ? `The Gleaner server at ${origin} stopped answering.`
      : `Could not reach the Gleaner server at ${origin}. Check your internet connection and the server address in Gleaner's settings.`;
    await writeSettings(db, { connection: { ...settings.connection, state: 'offline', lastError } });
  });
}
