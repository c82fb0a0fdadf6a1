import type { WorkState } from '@protocol/campaigns';
import { useMutation } from '@tanstack/react-query';
import { Button } from '@ui/button';
import { useState } from 'react';
import type { WorkAction } from '../api/buyer-api';
import { QueryError } from './query-error';

/**
 * Pause, resume and cancel for a campaign or project. Cancelling cannot be undone, so it asks first, in
 * the page rather than in a browser dialog; the API's refusal (a 409 for a cancelled one) shows here.
 */
export function WorkControls({
  what,
  state,
  act,
}: {
  /** "campaign" or "project", for the buttons' words. */
  what: string;
  state: WorkState;
  act: (action: WorkAction) => Promise<unknown>;
}) {
  const [confirming, setConfirming] = useState(false);
  const mutation = useMutation({ mutationFn: act, onSettled: () => setConfirming(false) });
  if (state === 'cancelled') return null;
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap items-center gap-2">
        {state === 'paused' ? (
          <Button variant="secondary" disabled={mutation.isPending} onClick={() => mutation.mutate('resume')}>
            Resume {what}
          </Button>
        ) : (
          <Button variant="secondary" disabled={mutation.isPending} onClick={() => mutation.mutate('pause')}>
            Pause {what}
          </Button>
        )}
        {!confirming && (
          <Button variant="secondary" disabled={mutation.isPending} onClick={() => setConfirming(true)}>
            Cancel {what}…
          </Button>
        )}
      </div>
      {confirming && (
        <fieldset
          aria-label={`Confirm cancelling the ${what}`}
          className="rounded-md border border-red-200 bg-red-50 p-3 text-sm"
        >
          <p>Cancelling stops all work not yet handed out, for good. Work already handed out may still arrive.</p>
          <div className="mt-2 flex gap-2">
            <Button variant="danger" disabled={mutation.isPending} onClick={() => mutation.mutate('cancel')}>
              Yes, cancel the {what}
            </Button>
            <Button variant="secondary" onClick={() => setConfirming(false)}>
              Keep it
            </Button>
          </div>
        </fieldset>
      )}
      <QueryError error={mutation.error} />
    </div>
  );
}
