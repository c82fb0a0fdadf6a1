import { type WalletSession, walletSessionSchema } from '@protocol/contributors';

/**
 * Where the contributor's wallet session lives between page loads: sessionStorage, like the buyer's key
 * (auth/api-key-store.ts), so the bearer token stays in this tab and is gone when it closes.
 */
const storageKey = 'gleaner.console.walletSession';

/** The kept session, or null when signed out, expired, unreadable or when storage is blocked. */
export function readWalletSession(now = Date.now()): WalletSession | null {
  try {
    const text = globalThis.sessionStorage?.getItem(storageKey);
    if (!text) return null;
    const parsed = walletSessionSchema.safeParse(JSON.parse(text));
    if (!parsed.success || Date.parse(parsed.data.expiresAt) <= now) return null;
    return parsed.data;
  } catch {
    return null;
  }
}

/** Keeps the session for this tab; null signs out. */
export function writeWalletSession(session: WalletSession | null): void {
  try {
    if (session === null) globalThis.sessionStorage?.removeItem(storageKey);
    else globalThis.sessionStorage?.setItem(storageKey, JSON.stringify(session));
  } catch {
    // Storage blocked: the session then lives only in memory for this page.
  }
}
