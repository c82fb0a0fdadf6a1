import { createHash } from 'node:crypto';
import { findUncleanText } from '@protocol/clean-text';
import { labelResultSchema } from '@protocol/labeling';
import {
  type FailedFetch,
  type FetchedPage,
  normalizeText,
  type RecordVerdictCode,
  scrapeResultSchema,
} from '@protocol/results';
import { maxClockSkewSeconds } from '@protocol/signing';
import { checkUrl } from '@protocol/url-guard';
import type { z } from 'zod';

/** A record's verdict when it is not accepted: a stable code and a reason in words. */
export interface Refusal {
  code: RecordVerdictCode;
  reason: string;
}

export type LabelRecord = z.infer<typeof labelResultSchema>;

/** One uploaded record after the checks that need nothing but the record itself. */
export type CheckedRecord =
  | { kind: 'scrape'; index: number; result: FetchedPage | FailedFetch }
  | { kind: 'label'; index: number; label: LabelRecord }
  | { kind: 'refused'; index: number; assignmentId: string | null; refusal: Refusal };

const assignmentIdOf = (raw: unknown): string | null => {
  const id = typeof raw === 'object' && raw !== null ? (raw as { assignmentId?: unknown }).assignmentId : undefined;
  return typeof id === 'string' ? id.slice(0, 64) : null;
};

const describeIssues = (issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>) =>
  issues
    .slice(0, 5)
    .map((issue) => `${issue.path.map(String).join('.') || 'result'}: ${issue.message}`)
    .join('; ');

const isRangeIssue = (issue: { code: string; origin?: unknown }) =>
  (issue.code === 'too_big' || issue.code === 'too_small') && (issue.origin === 'number' || issue.origin === 'int');

/** Shape, text and number checks of each record, in memory: nothing here reads the database. */
export function checkRecords(results: readonly unknown[]): CheckedRecord[] {
  return results.map((raw, index): CheckedRecord => {
    const refuse = (code: RecordVerdictCode, reason: string): CheckedRecord => ({
      kind: 'refused',
      index,
      assignmentId: assignmentIdOf(raw),
      refusal: { code, reason },
    });
    // PostgreSQL text cannot hold NUL, and a lone surrogate is not text: either would fail the whole
    // write, so such records are refused one by one before any write.
    const badText = findUncleanText(raw, ['result']);
    if (badText !== null) {
      return refuse('invalid_text', `${badText} holds a NUL character or an unpaired surrogate`);
    }
    const isLabel = typeof raw === 'object' && raw !== null && (raw as { kind?: unknown }).kind === 'label';
    const parsed = isLabel ? labelResultSchema.safeParse(raw) : scrapeResultSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues;
      const code = issues.some(isRangeIssue) ? 'out_of_range' : isLabel ? 'invalid_label' : 'invalid_record';
      return refuse(code, describeIssues(issues));
    }
    if (isLabel) return { kind: 'label', index, label: parsed.data as LabelRecord };
    return { kind: 'scrape', index, result: parsed.data as FetchedPage | FailedFetch };
  });
}

/** What a page or failure is checked against: its assignment, as the database holds it. */
export interface LeaseFacts {
  /** The job id the lease gave the device (the lease's own id). */
  jobId: string;
  jobUrl: string;
  leasedAt: Date;
  expiresAt: Date;
}

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * The checks of one result against its lease: the job it names, the URL, the time of the fetch
 * (within the lease, allowing the clock skew signatures allow), and for pages the text hash and the
 * final URL's safety. Returns the text hash the server computed, or the refusal.
 */
export function checkAgainstLease(
  result: FetchedPage | FailedFetch,
  lease: LeaseFacts,
  now: Date,
  testOrigins: readonly string[],
): Refusal | { textSha256: string | null; finalUrl: string | null } {
  if (lease.jobId !== result.jobId) {
    return {
      code: 'wrong_job',
      reason: `assignment ${result.assignmentId} was leased as job ${lease.jobId}, not ${result.jobId}`,
    };
  }
  if (result.url !== lease.jobUrl) {
    return { code: 'url_mismatch', reason: `the job's URL is ${lease.jobUrl}, not ${result.url}` };
  }
  const fetchedAt = Date.parse(result.fetchedAt);
  const skewMs = maxClockSkewSeconds * 1000;
  const latest = Math.min(lease.expiresAt.getTime(), now.getTime()) + skewMs;
  if (fetchedAt < lease.leasedAt.getTime() - skewMs || fetchedAt > latest) {
    return {
      code: 'outside_lease',
      reason: `fetchedAt ${result.fetchedAt} is outside the lease (${lease.leasedAt.toISOString()} to ${lease.expiresAt.toISOString()})`,
    };
  }
  if (result.outcome === 'failed') return { textSha256: null, finalUrl: null };
  const textSha256 = sha256Hex(normalizeText(result.text));
  if (textSha256 !== result.textSha256) {
    return { code: 'hash_mismatch', reason: 'textSha256 is not the SHA-256 of the normalized text' };
  }
  const finalUrl = checkUrl(result.finalUrl, { allowedTestOrigins: testOrigins });
  if (!finalUrl.ok) return { code: 'final_url_blocked', reason: `finalUrl breaks the URL rules: ${finalUrl.reason}` };
  return { textSha256, finalUrl: finalUrl.url };
}
