import { errorCodes } from '@protocol/errors';
import { leasedTaskSchema } from '@protocol/labeling';
import Dexie, { type DexieOptions, type EntityTable, type Transaction } from 'dexie';
import { z } from 'zod';

/**
 * The extension's IndexedDB: everything the background must remember survives a killed
 * service worker or a browser restart because it lives here, not in memory.
 */

/** One setting: the value is checked against its key's schema in `lib/settings.ts` when read. */
const settingRowSchema = z.object({ key: z.string().min(1), value: z.unknown() });
export type SettingRow = z.infer<typeof settingRowSchema>;

/**
 * A scrape job leased from the server (version 2 on: one row per lease, keyed by its assignment id);
 * the lease says until when the server keeps it for this device. The row goes once its result is
 * in the outbox, or when its lease runs out first.
 */
const jobRowSchema = z.object({
  /** The assignment id of the lease. */
  id: z.string().min(1),
  jobId: z.string().min(1),
  /** As leased; the URL guard judges it before anything is fetched. */
  url: z.string().min(1),
  state: z.enum(['leased', 'fetching', 'done', 'failed']),
  keepRawHtml: z.boolean(),
  collectLinks: z.boolean(),
  maxBytes: z.number().int().positive(),
  timeoutMs: z.number().int().positive(),
  leasedAt: z.number().int().nonnegative(),
  leaseExpiresAt: z.number().int().nonnegative(),
});
export type JobRow = z.infer<typeof jobRowSchema>;

/** A result waiting for upload; it leaves the outbox only once the server acknowledged it. */
const outboxRowSchema = z.object({
  seq: z.number().int().positive(),
  kind: z.enum(['scrape', 'label']),
  createdAt: z.number().int().nonnegative(),
  payload: z.unknown(),
  /** The upload batch this row was last sent in, '' before its first upload: a retry reuses it (idempotency). */
  batchId: z.string(),
  /**
   * A label: not sent before this time (ms since 1970), the window in which it may still be undone.
   * Absent in rows stored before undo existed (sent at once).
   */
  holdUntil: z.number().int().nonnegative().optional(),
  /** A label that went up in a batch once, even if the answer left it out: it may have reached the server. */
  sentBefore: z.boolean().optional(),
  /** A label: its task as it was queued, to offer it again if the label is undone. */
  task: leasedTaskSchema.optional(),
});
export type OutboxRow = z.infer<typeof outboxRowSchema>;

/** One URL fetched from the contributor's IP, shown to them in the options page. */
export const fetchLogRowSchema = z.object({
  id: z.number().int().positive(),
  /** A page of a scrape job, or (version 4 on) the image of a labeling task shown in the popup. */
  kind: z.enum(['page', 'image']),
  at: z.number().int().nonnegative(),
  url: z.string().min(1),
  /** HTTP status, or null when no response arrived. */
  status: z.number().int().nullable(),
  bytes: z.number().int().nonnegative(),
  /** ok: kept; blocked: a safety guard refused it; discarded: fetched but thrown away; error: the fetch failed. */
  outcome: z.enum(['ok', 'blocked', 'discarded', 'error']),
  /** Why it was blocked, discarded or failed, in words; null when kept. */
  reason: z.string().nullable(),
  /** The lease the fetch was for, to attach the server's verdict. */
  assignmentId: z.string().nullable(),
  /** Why the server rejected the uploaded result; null unless it did. */
  rejection: z.string().nullable(),
});
export type FetchLogRow = z.infer<typeof fetchLogRowSchema>;

/**
 * A labeling task leased ahead (version 3 on): a small queue lets the labeler keep working while
 * offline. The row goes once its label (or skip) is in the outbox, or when its lease runs out first.
 */
const taskRowSchema = z.object({
  /** The assignment id of the lease. */
  assignmentId: z.string().min(1),
  leasedAt: z.number().int().nonnegative(),
  /** `task.expiresAt` in ms since 1970, indexed to drop expired tasks. */
  expiresAt: z.number().int().nonnegative(),
  /** The task as the server sent it. */
  task: leasedTaskSchema,
});
export type TaskRow = z.infer<typeof taskRowSchema>;

/**
 * An upload batch the server refused as a whole, for good (version 4 on): malformed (400), or a
 * single record still too large (413), or an answer that could not be read as an acknowledgement.
 * Its records leave the outbox for here so the queue moves on; the person sees why and may delete it.
 */
const deadLetterRowSchema = z.object({
  id: z.number().int().positive(),
  /** When the server refused it (ms since 1970). */
  at: z.number().int().nonnegative(),
  /** The batch id it was last sent under. */
  batchId: z.string(),
  /** The server's error code, e.g. `payload_too_large`. */
  code: z.enum(errorCodes),
  /** The server's message, in words. */
  message: z.string(),
  /** The records as they waited in the outbox. */
  records: z
    .array(
      z.object({ kind: z.enum(['scrape', 'label']), createdAt: z.number().int().nonnegative(), payload: z.unknown() }),
    )
    .min(1),
});
export type DeadLetterRow = z.infer<typeof deadLetterRowSchema>;

/** The row schema of each table, as the current version stores it: rows read back are checked against these. */
export const rowSchemas = {
  settings: settingRowSchema,
  jobs: jobRowSchema,
  outbox: outboxRowSchema,
  fetchLog: fetchLogRowSchema,
  tasks: taskRowSchema,
  deadLetters: deadLetterRowSchema,
} as const;
export type TableName = keyof typeof rowSchemas;

export interface DbVersion {
  version: number;
  /** Dexie store spec; `null` deletes a table. */
  stores: Record<string, string | null>;
  /** Data changes that go with this version. */
  upgrade?: (tx: Transaction) => Promise<void>;
}

/**
 * Every schema version ever shipped, oldest first. Append only: never edit or remove an entry
 * that has been released, add a new version (with its `upgrade` and its saved example data in
 * `lib/db-examples/`) instead.
 */
export const dbVersions: readonly DbVersion[] = [
  {
    version: 1,
    stores: {
      settings: 'key',
      jobs: 'id, state, leaseExpiresAt',
      outbox: '++seq, kind, createdAt',
      fetchLog: '++id, at',
    },
  },
  {
    // Scraping: jobs keep their whole lease, outbox rows their upload batch, fetch log rows their
    // reason and lease. Rows of version 1 get neutral values.
    version: 2,
    stores: {
      jobs: 'id, state, leaseExpiresAt',
      outbox: '++seq, kind, createdAt, batchId, [batchId+seq]',
      fetchLog: '++id, at, assignmentId',
    },
    async upgrade(tx) {
      await tx
        .table('jobs')
        .toCollection()
        .modify((job: Record<string, unknown>) => {
          job.jobId ??= job.id;
          job.keepRawHtml ??= false;
          job.collectLinks ??= false;
          job.maxBytes ??= 5 * 1024 * 1024;
          job.timeoutMs ??= 30_000;
        });
      await tx
        .table('outbox')
        .toCollection()
        .modify((row: Record<string, unknown>) => {
          row.batchId ??= '';
        });
      await tx
        .table('fetchLog')
        .toCollection()
        .modify((row: Record<string, unknown>) => {
          row.reason ??= null;
          row.assignmentId ??= null;
          row.rejection ??= null;
        });
    },
  },
  {
    // Labeling: a queue of leased tasks. A new table only, so no data changes.
    version: 3,
    stores: { tasks: 'assignmentId, leasedAt, expiresAt' },
  },
  {
    // Batches the server refused for good leave the outbox for dead letters; the fetch log also
    // lists the images of labeling tasks, so each row says what it was (every older row a page).
    version: 4,
    stores: { deadLetters: '++id, at' },
    async upgrade(tx) {
      await tx
        .table('fetchLog')
        .toCollection()
        .modify((row: Record<string, unknown>) => {
          row.kind ??= 'page';
        });
    },
  },
];

const dbName = 'gleaner';
export const latestDbVersion = Math.max(...dbVersions.map((entry) => entry.version));

/** Declares the versions up to `upTo` on a Dexie instance; the upgrade tests use it to open older databases. */
export function declareDbVersions(db: Dexie, upTo: number = latestDbVersion): void {
  for (const entry of dbVersions) {
    if (entry.version > upTo) break;
    const version = db.version(entry.version).stores(entry.stores);
    if (entry.upgrade) version.upgrade(entry.upgrade);
  }
}

export type DbOptions = Pick<DexieOptions, 'indexedDB' | 'IDBKeyRange'>;

export class GleanerDb extends Dexie {
  declare readonly settings: EntityTable<SettingRow, 'key'>;
  declare readonly jobs: EntityTable<JobRow, 'id'>;
  declare readonly outbox: EntityTable<OutboxRow, 'seq'>;
  declare readonly fetchLog: EntityTable<FetchLogRow, 'id'>;
  declare readonly tasks: EntityTable<TaskRow, 'assignmentId'>;
  declare readonly deadLetters: EntityTable<DeadLetterRow, 'id'>;

  /** Tests pass `{ indexedDB: new IDBFactory(), IDBKeyRange }` so each gets a database of its own. */
  constructor(options: DbOptions = {}, name: string = dbName) {
    super(name, options);
    declareDbVersions(this);
  }
}
