import type { Database } from './db/database';
import type { ScrapingSettings } from './scraping-settings';

/** What every route plugin is given: no globals, so tests build as many apps as they like. */
export interface AppContext {
  db: Database;
  operatorToken: string;
  version: string;
  scraping: ScrapingSettings;
}
