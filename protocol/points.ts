import { z } from 'zod';
import { isoDateSchema } from './primitives';

/** Signed `GET /v1/devices/me/points`: what the device has earned and why anything was rejected. */
export const pointsSummarySchema = z.object({
  pending: z.number(),
  verified: z.number(),
  rejected: z.number(),
  trust: z.number().min(0).max(1),
  recentRejections: z.array(
    z.object({ reference: z.string(), url: z.string().nullable(), reason: z.string(), at: isoDateSchema }),
  ),
});
export type PointsSummary = z.infer<typeof pointsSummarySchema>;
