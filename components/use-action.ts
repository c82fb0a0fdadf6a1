import { useCallback, useState } from 'react';
import { toErrorBody } from '@/lib/errors';
import { logger } from '@/lib/logger';

/**
 * Runs a UI action (usually a message to the background) and keeps what the person needs to
 * see: whether it is running, and what went wrong in words. Errors stop here, at the edge.
 */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<unknown>) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(
    async (...args: A): Promise<boolean> => {
      setPending(true);
      setError(null);
      try {
        await action(...args);
        return true;
      } catch (cause) {
        const body = toErrorBody(cause);
        logger.warn(`An action failed: ${body.message}`, cause);
        setError(body.message);
        return false;
      } finally {
        setPending(false);
      }
    },
    [action],
  );
  return { run, pending, error, setError };
}
