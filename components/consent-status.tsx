import { useCallback } from 'react';
import { formatDateTime } from '@/lib/format';
import { sendMessage } from '@/lib/messages';
import type { Consent } from '@/lib/settings';
import { ErrorText } from './ui/error-text';
import { useAction } from './use-action';

/** When consent was given, and the button that withdraws it (which stops everything at once). */
export function ConsentStatus({ consent }: { consent: Consent }) {
  const withdraw = useCallback(() => sendMessage('setConsent', { given: false }), []);
  const { run, pending, error } = useAction(withdraw);
  return (
    <div className="space-y-3">
      <p data-testid="consent-state" className="text-sm">
        {consent.at === null
          ? 'You agreed to contribute.'
          : `You agreed to contribute on ${formatDateTime(consent.at)}.`}{' '}
        Withdrawing stops all fetching and contact with the server at once; your device key stays in this browser so
        your points are not lost if you agree again.
      </p>
      <button
        type="button"
        data-testid="consent-withdraw"
        disabled={pending}
        onClick={() => run()}
        className="rounded-md border border-red-300 px-3 py-1.5 text-sm text-red-700 hover:bg-red-50 disabled:opacity-60"
      >
        {pending ? 'Withdrawing…' : 'Withdraw consent'}
      </button>
      <ErrorText error={error} testId="withdraw-error" />
    </div>
  );
}
