import { useState } from 'react';
import { describeError } from './api-client';

/**
 * Runs a form's work (an upload in batches, say): whether it is under way, to disable the form, and its
 * failure in words for the person to read; a new run clears the last failure.
 */
export function usePendingWork() {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (work: () => Promise<void>) => {
    setPending(true);
    setError(null);
    try {
      await work();
    } catch (cause) {
      setError(describeError(cause));
    } finally {
      setPending(false);
    }
  };
  return { pending, error, run };
}
