import { useLiveQuery } from 'dexie-react-hooks';
import { readSettings, type Settings } from '@/lib/settings';
import { useDb } from './db-context';

/**
 * The settings and connection state, live: re-rendered whenever the background writes them
 * (Dexie signals writes in the service worker to the pages over a BroadcastChannel).
 * Undefined while the first read runs.
 */
export function useSettings(): Settings | undefined {
  const db = useDb();
  return useLiveQuery(() => readSettings(db), [db]);
}
