import { useCallback, useState } from 'react';
import { formatDateTime } from '@/lib/format';
import { sendMessage } from '@/lib/messages';
import type { Consent } from '@/lib/settings';
import { ErrorText } from './ui/error-text';
import { useAction } from './use-action';

/**
 * When consent was given, and the button that withdraws it. Withdrawing stops everything at once,
 * so it asks first: one stray click must not undo what the person set up.
 */
export function ConsentStatus({ consent }: { consent: Consent }) {
  const [confirming, setConfirming] = useState(false);
  const withdraw = useCallback(() => sendMessage('setConsent', { given: false }), []);
  const { run, pending, error } = useAction(withdraw);
  return (
    <div className="space-y-3">
      <p data-testid="consent-state" className="text-sm">
        {consent.at === null
          ? 'You agreed to contribute.'
          : `You agreed to contribute on ${formatDateTime(consent.at)}.`}{' '}
        Withdrawing stops all fetching, labeling and contact with the server at once; your device key stays in this
        browser so your points are not lost if you agree again.
      </p>
      {confirming ? (
        <div
          role="alertdialog"
          aria-label="Withdraw consent?"
          className="space-y-2 rounded-md border border-red-200 bg-red-50 p-3"
        >
          <p className="text-sm text-red-900">
            Withdraw consent? Gleaner stops fetching and labeling now, drops the tasks it holds and ends any pause. Work
            not yet uploaded stays here until you agree again.
          </p>
          <div className="flex gap-2">
            <button
              type="button"
              data-testid="consent-withdraw-confirm"
              disabled={pending}
              onClick={() => run().then((done) => done && setConfirming(false))}
              className="rounded-md bg-red-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-red-600 disabled:opacity-60"
            >
              {pending ? 'Withdrawing…' : 'Yes, withdraw'}
            </button>
            <button
              type="button"
              data-testid="consent-withdraw-cancel"
              disabled={pending}
              onClick={() => setConfirming(false)}
              className="rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm hover:bg-slate-100 disabled:opacity-60"
            >
              Keep contributing
            </button>
          </div>
        </div>
      ) : (
        <button
          type="button"
          data-testid="consent-withdraw"
          onClick={() => setConfirming(true)}
          className="rounded-md border border-red-300 px-3 py-1.5 text-sm text-red-700 hover:bg-red-50"
        >
          Withdraw consent
        </button>
      )}
      <ErrorText error={error} testId="withdraw-error" />
    </div>
  );
}
