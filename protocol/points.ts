import { z } from 'zod';
import { isoDateSchema } from './primitives';

/** Signed `GET /v1/devices/me/points`: what the device has earned and why anything was rejected. */
export const pointsSummarySchema = z.object({
  /** Whole points (the ledger's unit): a verified page earns 100, a label up to 50. */
  pending: z.number().int(),
  verified: z.number().int(),
  rejected: z.number().int(),
  trust: z.number().min(0).max(1),
  recentRejections: z.array(
    z.object({ reference: z.string(), url: z.string().nullable(), reason: z.string(), at: isoDateSchema }),
  ),
});
export type PointsSummary = z.infer<typeof pointsSummarySchema>;
