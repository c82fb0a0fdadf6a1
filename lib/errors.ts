import { BaseError, type ErrorBody } from '@protocol/errors';
import { ZodError } from 'zod';

/** Turns anything thrown into the `{ code, message, details? }` body that crosses messages, with a message for people. */
export function toErrorBody(error: unknown): ErrorBody {
  if (error instanceof BaseError) return error.toBody();
  if (error instanceof ZodError) {
    return { code: 'bad_request', message: describeIssues(error), details: { issues: error.issues } };
  }
  const text = error instanceof Error ? error.message : String(error);
  return { code: 'internal_error', message: 'Something went wrong inside Gleaner.', details: { error: text } };
}

/** Joins zod issues into one sentence-like line: `serverUrl: Enter a web address…`. */
export function describeIssues(error: ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
