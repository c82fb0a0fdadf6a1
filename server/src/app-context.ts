import type { Database } from './db/database';
import type { ScrapingSettings } from './scraping-settings';

/** What every route plugin is given: no globals, so tests build as many apps as they like. */
export interface AppContext {
  db: Database;
  operatorToken: string;
  version: string;
  scraping: ScrapingSettings;
  /** Who this server is in device signatures: the origins devices may sign for, and the chain. */
  server: ServerIdentity;
}

export interface ServerIdentity {
  /** Public origins of this server (`https://gleaner.example`); a request signed for any other is refused. */
  origins: string[];
  chainId: number;
}
