import { ErrorText } from '@ui/error-text';
import { describeError } from '../api/api-client';

/** A failed query or mutation in words, where it failed; nothing when there is no error. */
export function QueryError({ error, testId }: { error: unknown; testId?: string }) {
  return <ErrorText error={error ? describeError(error) : null} testId={testId} />;
}
