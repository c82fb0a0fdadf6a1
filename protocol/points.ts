import { z } from 'zod';
import { isoDateSchema } from './primitives';

/** Signed `GET /v1/devices/me/points`: what the device has earned and why anything was rejected. */
export const pointsSummarySchema = z.object({
  /** Whole points (the ledger's unit): a verified page earns 100, a label up to 50. */
  pending: z.number().int(),
  verified: z.number().int(),
  rejected: z.number().int(),
  trust: z.number().min(0).max(1),
  /** What the pending points wait for (audits of the device's work); null when nothing is pending. */
  pendingExplained: z
    .object({
      pendingPages: z.number().int(),
      auditsUnderWay: z.number().int(),
      /** Passed audits drawn after the oldest pending page, of `auditsNeeded`. */
      auditsPassed: z.number().int(),
      auditsNeeded: z.number().int(),
      /** Roughly when the oldest pending page settles, if the device's work holds up. */
      settlesBy: isoDateSchema.nullable(),
      message: z.string(),
    })
    .nullable()
    .optional(),
  recentRejections: z.array(
    z.object({ reference: z.string(), url: z.string().nullable(), reason: z.string(), at: isoDateSchema }),
  ),
});
export type PointsSummary = z.infer<typeof pointsSummarySchema>;

/**
 * Signed `GET /v1/devices/me/points-by-day?days=30&timeZone=Europe/Paris`: the device's history in the
 * person's own days. `timeZone` is an IANA name (the browser's `Intl` zone) so a day starts at the person's
 * midnight, daylight-saving changes included.
 */
export const devicePointsByDayQuerySchema = z.object({
  days: z.coerce.number().int().min(1).max(90).default(30),
  timeZone: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9_+\-/]+$/, 'timeZone must be an IANA time zone name such as Europe/Paris or UTC')
    .default('UTC'),
});
export type DevicePointsByDayQuery = z.infer<typeof devicePointsByDayQuerySchema>;

/** One row per day of the query, oldest first, today (in `timeZone`) last, every day present. */
export const devicePointsByDaySchema = z.object({
  timeZone: z.string(),
  days: z.array(
    z.object({
      /** The person's local date, YYYY-MM-DD. */
      day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
      /** Points of the ledger rows made that day, by their state now; reversed work counts as rejected. */
      verified: z.number().int(),
      pending: z.number().int(),
      rejected: z.number().int(),
      /** Labels the server received from this device that were given that day. */
      labels: z.number().int().nonnegative(),
    }),
  ),
});
export type DevicePointsByDay = z.infer<typeof devicePointsByDaySchema>;
