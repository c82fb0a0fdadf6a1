import { v1Example } from './v1';
import { v2Example } from './v2';
import { v3Example } from './v3';
import { v4Example } from './v4';

/** Example rows of every table as one schema version stored them. */
export interface DbExample {
  version: number;
  tables: Record<string, readonly unknown[]>;
}

/** One saved example per schema version: the upgrade test opens each and upgrades it to the current version. */
export const dbExamples: readonly DbExample[] = [v1Example, v2Example, v3Example, v4Example];
