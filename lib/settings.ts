import { errorCodes } from '@protocol/errors';
import { labelerStandingSchema } from '@protocol/labeling';
import { pointsSummarySchema } from '@protocol/points';
import { addressSchema } from '@protocol/primitives';
import { z } from 'zod';
import type { GleanerDb, SettingRow } from './db';
import { logger } from './logger';

/** Bump when the consent text changes in substance: people then agree again before anything runs. */
export const currentConsentVersion = 1;

export const bytesPerMegabyte = 1_000_000;
export const minDailyBudgetMegabytes = 1;
export const maxDailyBudgetMegabytes = 100_000;

/** The Gleaner server's base address: http(s) only, no credentials, query or fragment; kept without a trailing slash. */
export const serverUrlSchema = z
  .string()
  .trim()
  .transform((text, context) => {
    const invalid = () => {
      context.addIssue({
        code: 'custom',
        message: 'Enter a web address starting with http:// or https://, like https://gleaner.example.org.',
      });
      return z.NEVER;
    };
    if (!URL.canParse(text)) return invalid();
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return invalid();
    if (url.username || url.password || url.search || url.hash) {
      context.addIssue({
        code: 'custom',
        message: 'Enter only the server address, without a user name, password, ? query or # part.',
      });
      return z.NEVER;
    }
    return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  });

export const dailyBudgetBytesSchema = z
  .number({ message: 'Enter the daily budget as a number of megabytes.' })
  .int('Enter the daily budget as a whole number of bytes.')
  .min(minDailyBudgetMegabytes * bytesPerMegabyte, `The daily budget must be at least ${minDailyBudgetMegabytes} MB.`)
  .max(maxDailyBudgetMegabytes * bytesPerMegabyte, `The daily budget can be at most ${maxDailyBudgetMegabytes} MB.`);

export const consentSchema = z.object({
  given: z.boolean(),
  /** When it was last given or withdrawn (ms since 1970); null if never. */
  at: z.number().int().nonnegative().nullable(),
  /** The consent text version it was given or withdrawn for; null if never. */
  version: z.number().int().positive().nullable(),
});
export type Consent = z.infer<typeof consentSchema>;

const connectionStates = ['no-consent', 'registering', 'connected', 'offline', 'paused'] as const;
export type ConnectionState = (typeof connectionStates)[number];

/** What the background last knew about its link to the server; it is the only writer. */
export const connectionSchema = z.object({
  state: z.enum(connectionStates),
  deviceAddress: addressSchema.nullable(),
  /** The last failure, in words for people; null after a success. */
  lastError: z.string().nullable(),
  /** When the server last answered (ms since 1970). */
  lastContactAt: z.number().int().nonnegative().nullable(),
  /** The server address this device last registered with; registration runs again when it differs. */
  registeredServerUrl: z.string().nullable(),
});
export type Connection = z.infer<typeof connectionSchema>;

/** Upload back-off after failures: kept in IndexedDB so a restarted worker waits as long as the old one would have. */
export const uploadRetrySchema = z.object({
  /** Failed attempts in a row. */
  failures: z.number().int().positive(),
  failedAt: z.number().int().nonnegative(),
  /** No upload before this (ms since 1970). */
  nextAttemptAt: z.number().int().nonnegative(),
  /** The server could not be reached at all (rather than answering with an error). */
  unreachable: z.boolean(),
  /** The last failure, in words for people. */
  message: z.string(),
  /** The last failure's code (absent in rows stored before it was kept). */
  code: z.enum(errorCodes).optional(),
});
export type UploadRetry = z.infer<typeof uploadRetrySchema>;

/** The points summary as last read from the server, with when. */
// A cache of the server's last answer: versions before whole points stored fractions, read them as they are.
export const storedPointsSchema = pointsSummarySchema.extend({
  pending: z.number(),
  verified: z.number(),
  rejected: z.number(),
  fetchedAt: z.number().int().nonnegative(),
});
export type StoredPoints = z.infer<typeof storedPointsSchema>;

/** The labeler's standing (gold accuracy, whether labels count, label points) as last read, with when. */
export const storedStandingSchema = labelerStandingSchema.extend({
  points: z.object({ pending: z.number(), verified: z.number() }),
  fetchedAt: z.number().int().nonnegative(),
});
export type StoredStanding = z.infer<typeof storedStandingSchema>;

/** A label the server refused when it was uploaded, with its reason, for the labeler to read. */
const labelRejectionSchema = z.object({
  assignmentId: z.string(),
  reason: z.string(),
  /** When the refusal arrived (ms since 1970). */
  at: z.number().int().nonnegative(),
});
export type LabelRejection = z.infer<typeof labelRejectionSchema>;
/** How many refused labels are kept, newest first. */
export const keptLabelRejections = 10;

/** One of the labeler's recent labels (or skips) and what became of it, newest first. */
const recentLabelSchema = z.object({
  assignmentId: z.string(),
  projectName: z.string(),
  /** When it was given (ms since 1970). */
  labeledAt: z.number().int().nonnegative(),
  /** The answer in a few words ("positive", "left", "2 spans", "skipped"). */
  summary: z.string().max(200),
  /** `waiting`: still in the outbox; then the server's verdict on the upload, or set aside with its batch. */
  state: z.enum(['waiting', 'accepted', 'duplicate', 'rejected', 'set-aside']),
  /** Why it was refused or set aside, in words; null otherwise. */
  reason: z.string().nullable(),
});
export type RecentLabel = z.infer<typeof recentLabelSchema>;
/** How many recent labels are kept. */
export const keptRecentLabels = 20;

export const settingSchemas = {
  serverUrl: serverUrlSchema,
  dailyBudgetBytes: dailyBudgetBytesSchema,
  consent: consentSchema,
  /** Until when contributing is paused (ms since 1970); null when not paused. */
  pausedUntil: z.number().int().nonnegative().nullable(),
  connection: connectionSchema,
  /** Not before this (ms since 1970) may jobs be leased again: the server's retryAfterSeconds or Retry-After. */
  nextLeaseAt: z.number().int().nonnegative().nullable(),
  /** Not before this (ms since 1970) may labeling tasks be leased again: the server's Retry-After (429, 503). */
  nextTaskLeaseAt: z.number().int().nonnegative().nullable(),
  uploadRetry: uploadRetrySchema.nullable(),
  points: storedPointsSchema.nullable(),
  labelerStanding: storedStandingSchema.nullable(),
  labelRejections: z.array(labelRejectionSchema).max(keptLabelRejections),
  /** The labeler's recent labels with their state, newest first. */
  recentLabels: z.array(recentLabelSchema).max(keptRecentLabels),
  /** The project the labeler chose to label; null for any project with work. */
  labelingProjectId: z.uuid().nullable(),
};
type SettingKey = keyof typeof settingSchemas;
export type Settings = { [K in SettingKey]: z.output<(typeof settingSchemas)[K]> };

export const defaultSettings: Settings = {
  serverUrl: 'http://127.0.0.1:8787',
  dailyBudgetBytes: 200 * bytesPerMegabyte,
  consent: { given: false, at: null, version: null },
  pausedUntil: null,
  connection: {
    state: 'no-consent',
    deviceAddress: null,
    lastError: null,
    lastContactAt: null,
    registeredServerUrl: null,
  },
  nextLeaseAt: null,
  nextTaskLeaseAt: null,
  uploadRetry: null,
  points: null,
  labelerStanding: null,
  labelRejections: [],
  recentLabels: [],
  labelingProjectId: null,
};

const settingKeys = Object.keys(settingSchemas) as SettingKey[];

function isSettingKey(key: string): key is SettingKey {
  return key in settingSchemas;
}

/**
 * Builds the settings from stored rows: each value is validated against its key's schema;
 * a missing or invalid value falls back to its default (and an invalid one is logged).
 */
export function parseSettings(rows: readonly SettingRow[]): Settings {
  const settings: Record<string, unknown> = { ...defaultSettings };
  for (const row of rows) {
    if (!isSettingKey(row.key)) continue;
    const parsed = settingSchemas[row.key].safeParse(row.value);
    if (parsed.success) settings[row.key] = parsed.data;
    else logger.warn(`Stored setting "${row.key}" is invalid; using its default.`, parsed.error.issues);
  }
  return settings as Settings;
}

/** Reads every setting, validated, with defaults for the ones never stored. */
export async function readSettings(db: GleanerDb): Promise<Settings> {
  return parseSettings(await db.settings.toArray());
}

/** Validates and stores some settings in one transaction; throws a ZodError naming the first invalid one. */
export async function writeSettings(db: GleanerDb, patch: Partial<Settings>): Promise<void> {
  const rows: SettingRow[] = [];
  for (const key of settingKeys) {
    if (!(key in patch)) continue;
    const value = settingSchemas[key].parse(patch[key]);
    rows.push({ key, value });
  }
  if (rows.length > 0) await db.settings.bulkPut(rows);
}

/** Whether the person agreed to the current consent text. Nothing runs without it. */
export function hasConsent(settings: Pick<Settings, 'consent'>): boolean {
  return settings.consent.given && settings.consent.version === currentConsentVersion;
}

/** Whether a pause is in force at `now`. */
export function isPaused(settings: Pick<Settings, 'pausedUntil'>, now: number): boolean {
  return settings.pausedUntil !== null && settings.pausedUntil > now;
}
