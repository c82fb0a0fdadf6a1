import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { GleanerDb } from '../db';

/** For tests only: a database in an in-memory IndexedDB; pass the same factory to reopen the same data. */
export function createTestDb(indexedDB: IDBFactory = new IDBFactory()): GleanerDb {
  return new GleanerDb({ indexedDB, IDBKeyRange });
}
