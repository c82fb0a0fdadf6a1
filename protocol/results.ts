import { z } from 'zod';
import { isoDateSchema } from './primitives';

/** Why a fetch did not produce a page; shown to the contributor in the fetch log. */
export const fetchFailureCodes = [
  'url_blocked',
  'redirect_blocked',
  'too_many_redirects',
  'private_ip',
  'too_large',
  'timeout',
  'http_error',
  'content_type',
  'network_error',
  'extraction_failed',
  'lease_expired',
] as const;
export type FetchFailureCode = (typeof fetchFailureCodes)[number];

const sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256');

/** Largest body a device may report having fetched for one job (a stored int4 column, and far above any cap). */
export const maxBytesFetched = 1_000_000_000;
/** Largest Retry-After a device may report; the server clamps what it applies much lower. */
export const maxReportedRetryAfterSeconds = 366 * 24 * 3600;

const resultBaseSchema = z.object({
  assignmentId: z.string().min(1).max(64),
  jobId: z.string().min(1).max(64),
  url: z.string().max(4096),
  fetchedAt: isoDateSchema,
  /** Bytes received over the network for this job, counted against the daily budget. */
  bytesFetched: z.number().int().nonnegative().max(maxBytesFetched),
});

/** A page fetched and extracted in the browser. */
export const fetchedPageSchema = resultBaseSchema.extend({
  outcome: z.literal('fetched'),
  finalUrl: z.string().max(4096),
  httpStatus: z.number().int().min(100).max(599),
  contentType: z.string().max(200),
  title: z.string().max(2_000),
  text: z.string().max(5_000_000),
  lang: z.string().max(35).nullable(),
  canonicalUrl: z.string().max(4096).nullable(),
  links: z.array(z.string().max(4096)).max(5_000),
  /** SHA-256 of the normalized text as UTF-8 (see `normalizeText`). */
  textSha256: sha256HexSchema,
  html: z.string().max(20_000_000).optional(),
});
export type FetchedPage = z.infer<typeof fetchedPageSchema>;

export const failedFetchSchema = resultBaseSchema.extend({
  outcome: z.literal('failed'),
  error: z.enum(fetchFailureCodes),
  detail: z.string().max(1_000),
  /** The HTTP status when the server answered (429 and 503 make the server back off the host). */
  httpStatus: z.number().int().min(100).max(599).nullable().default(null),
  /** Retry-After of a 429 or 503, in seconds. */
  retryAfterSeconds: z.number().int().nonnegative().max(maxReportedRetryAfterSeconds).nullable().default(null),
});
export type FailedFetch = z.infer<typeof failedFetchSchema>;

export const scrapeResultSchema = z.discriminatedUnion('outcome', [fetchedPageSchema, failedFetchSchema]);
export type ScrapeResult = z.infer<typeof scrapeResultSchema>;

/**
 * Signed `POST /v1/results`, gzip-encoded. Each result is validated on its own so that one bad
 * record is rejected with a reason while the rest of the batch is kept.
 */
export const resultBatchSchema = z.object({
  batchId: z.uuid(),
  results: z.array(z.unknown()).min(1).max(500),
});
export type ResultBatch = { batchId: string; results: ScrapeResult[] };

/**
 * Why a record was not accepted (or was a duplicate): stable codes a device may switch on, each sent
 * with a reason in words. A record with one of these is settled: the device removes it and never resends it.
 */
export const recordVerdictCodes = [
  /** The record does not have the shape of a result (a field missing, of the wrong type, or too long). */
  'invalid_record',
  /** A number outside what the protocol allows (bytes fetched, Retry-After, offsets). */
  'out_of_range',
  /** A string holds a NUL character or an unpaired UTF-16 surrogate; the extension cleans these before upload. */
  'invalid_text',
  /** textSha256 is not the SHA-256 of the normalized text. */
  'hash_mismatch',
  /** The assignment is not a lease of this device (or does not exist). */
  'foreign_assignment',
  /** The assignment is for another job than the record names. */
  'wrong_job',
  /** The page's URL is not the URL of its job. */
  'url_mismatch',
  /** The final URL after redirects breaks the URL rules. */
  'final_url_blocked',
  /** fetchedAt lies outside the lease (before it began, or after it expired), or in the future. */
  'outside_lease',
  /** The same assignment appears earlier in this batch, or was already settled by an earlier batch. */
  'already_received',
  /** The job already has every copy it asked for from other devices: the page is kept, and earns nothing. */
  'job_complete',
  /** The batch id was used by another device. */
  'batch_id_taken',
  /** A label that does not fit its task (schema, answer, lease). */
  'invalid_label',
] as const;
export type RecordVerdictCode = (typeof recordVerdictCodes)[number];

export const resultAckSchema = z.object({
  index: z.number().int(),
  assignmentId: z.string().nullable(),
  status: z.enum(['accepted', 'duplicate', 'rejected']),
  /** Set for every rejected and duplicate record. */
  code: z.enum(recordVerdictCodes).optional(),
  reason: z.string().optional(),
});
export type ResultAck = z.infer<typeof resultAckSchema>;

export const resultBatchAckSchema = z.object({
  batchId: z.uuid(),
  acks: z.array(resultAckSchema),
});
export type ResultBatchAck = z.infer<typeof resultBatchAckSchema>;

/**
 * The text normalization both sides hash: Unicode NFC, whitespace runs collapsed to one space, trimmed.
 * Redundant fetches of the same page must agree on this hash.
 */
export function normalizeText(text: string): string {
  return text.normalize('NFC').replace(/\s+/g, ' ').trim();
}
