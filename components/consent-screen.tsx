import { type FormEvent, useCallback, useState } from 'react';
import { describeIssues } from '@/lib/errors';
import { formatBytes } from '@/lib/format';
import { sendMessage } from '@/lib/messages';
import { defaultSettings, serverUrlSchema } from '@/lib/settings';
import { ServerUrlField } from './server-url-field';
import { ErrorText } from './ui/error-text';
import { useAction } from './use-action';

/**
 * What Gleaner will do, in plain words, and the one button that lets it start. Shown until the
 * person agrees; nothing runs before that.
 */
export function ConsentScreen({ serverUrl }: { serverUrl: string }) {
  const [serverUrlText, setServerUrlText] = useState(serverUrl);
  const giveConsent = useCallback((url: string) => sendMessage('setConsent', { given: true, serverUrl: url }), []);
  const { run, pending, error, setError } = useAction(giveConsent);

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const parsed = serverUrlSchema.safeParse(serverUrlText);
    if (!parsed.success) {
      setError(describeIssues(parsed.error));
      return;
    }
    void run(parsed.data);
  };

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-6" aria-labelledby="consent-title">
      <div>
        <h2 id="consent-title" className="text-xl font-semibold">
          Before Gleaner starts
        </h2>
        <p className="mt-1 text-slate-600">
          Gleaner earns you points for useful data work done from your browser. Please read what that means.
        </p>
      </div>

      <section>
        <h3 className="text-base font-semibold">What Gleaner will fetch</h3>
        <p className="mt-1 text-sm text-slate-700">
          Public web pages that the Gleaner server assigns, within your daily budget (
          {formatBytes(defaultSettings.dailyBudgetBytes)} a day unless you change it). They are fetched from your
          internet connection, so the sites see your IP address. Private addresses and local networks are never fetched.
          Every page fetched is listed for you in these settings.
        </p>
      </section>

      <section>
        <h3 className="text-base font-semibold">What is uploaded</h3>
        <p className="mt-1 text-sm text-slate-700">
          For each assigned page: its text, title, links, address (URL), the time it was fetched and the number of
          bytes. Uploads are signed with a key made for this browser only. Nothing of yours is ever uploaded.
        </p>
      </section>

      <section>
        <h3 className="text-base font-semibold">What is never touched</h3>
        <p className="mt-1 text-sm text-slate-700">
          Your cookies, logins, open tabs, browsing history and other sites’ data. Requests are sent without
          credentials, so no site sees you as logged in.
        </p>
      </section>

      <section>
        <h3 className="text-base font-semibold">You stay in control</h3>
        <p className="mt-1 text-sm text-slate-700">
          Nothing runs before you agree. You can pause at any time, change the budget, and withdraw your consent
          whenever you like: Gleaner then stops at once.
        </p>
      </section>

      <ServerUrlField
        value={serverUrlText}
        onChange={setServerUrlText}
        hint="Keep the default unless you were given another address."
      />

      <ErrorText error={error} testId="consent-error" />

      <button
        type="submit"
        data-testid="consent-accept"
        disabled={pending}
        className="rounded-md bg-emerald-600 px-4 py-2 font-medium text-white hover:bg-emerald-700 disabled:opacity-60"
      >
        {pending ? 'Starting…' : 'I agree, start contributing'}
      </button>
    </form>
  );
}
