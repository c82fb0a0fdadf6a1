import { createContext, type ReactNode, useContext } from 'react';
import type { GleanerDb } from '@/lib/db';

const DbContext = createContext<GleanerDb | null>(null);

/** Gives the pages' components the database; tests pass one in a fresh IndexedDB. */
export function DbProvider({ db, children }: { db: GleanerDb; children: ReactNode }) {
  return <DbContext.Provider value={db}>{children}</DbContext.Provider>;
}

export function useDb(): GleanerDb {
  const db = useContext(DbContext);
  if (!db) throw new Error('useDb() needs a <DbProvider> above it.');
  return db;
}
