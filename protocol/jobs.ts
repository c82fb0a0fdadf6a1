import { z } from 'zod';
import { isoDateSchema } from './primitives';

/** Signed `POST /v1/jobs/lease`: ask for up to `max` jobs. */
export const leaseRequestSchema = z.object({
  max: z.number().int().min(1).max(20).default(5),
});
export type LeaseRequest = z.input<typeof leaseRequestSchema>;

/** One page to fetch. The device must still check every URL and redirect with the URL guard. */
export const leasedJobSchema = z.object({
  assignmentId: z.string(),
  jobId: z.string(),
  url: z.url(),
  keepRawHtml: z.boolean(),
  /** Collect same-site links: the campaign follows links from this page. */
  collectLinks: z.boolean(),
  maxBytes: z.number().int().positive(),
  timeoutMs: z.number().int().positive(),
  leaseExpiresAt: isoDateSchema,
});
export type LeasedJob = z.infer<typeof leasedJobSchema>;

export const leaseResponseSchema = z.object({
  jobs: z.array(leasedJobSchema),
  /** When no job was ready: how long to wait before asking again. */
  retryAfterSeconds: z.number().int().nonnegative(),
});
export type LeaseResponse = z.infer<typeof leaseResponseSchema>;
