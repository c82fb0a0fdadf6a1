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
