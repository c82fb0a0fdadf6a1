/**
 * Where the buyer's API key lives between page loads. sessionStorage, not localStorage: the key is a
 * bearer secret with the whole account's power, so it stays in this tab only and is gone when the tab
 * closes, and a shared computer does not keep it signed in. The cost is signing in again in a new tab.
 */
const storageKey = 'gleaner.console.apiKey';

/** The stored key, or null when signed out (or when storage is blocked). */
export function readApiKey(storage: Storage | undefined = safeSessionStorage()): string | null {
  try {
    return storage?.getItem(storageKey) ?? null;
  } catch {
    return null;
  }
}

/** Keeps the key for this tab; a null key signs out. */
export function writeApiKey(key: string | null, storage: Storage | undefined = safeSessionStorage()): void {
  try {
    if (key === null) storage?.removeItem(storageKey);
    else storage?.setItem(storageKey, key);
  } catch {
    // Storage blocked (private mode quotas, policies): the key then lives only in memory for this page.
  }
}

function safeSessionStorage(): Storage | undefined {
  try {
    return globalThis.sessionStorage;
  } catch {
    return undefined;
  }
}
