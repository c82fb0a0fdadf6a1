import { type FormEvent, useCallback, useState } from 'react';
import { describeIssues } from '@/lib/errors';
import { sendMessage } from '@/lib/messages';
import {
  bytesPerMegabyte,
  dailyBudgetBytesSchema,
  maxDailyBudgetMegabytes,
  minDailyBudgetMegabytes,
  serverUrlSchema,
} from '@/lib/settings';
import { ServerUrlField } from './server-url-field';
import { ErrorText } from './ui/error-text';
import { useAction } from './use-action';

/** Server address and daily budget, checked here and again by the background, saved together. */
export function SettingsForm({ serverUrl, dailyBudgetBytes }: { serverUrl: string; dailyBudgetBytes: number }) {
  const [serverUrlText, setServerUrlText] = useState(serverUrl);
  const [budgetText, setBudgetText] = useState(String(dailyBudgetBytes / bytesPerMegabyte));
  const [saved, setSaved] = useState(false);
  const save = useCallback(
    (patch: { serverUrl: string; dailyBudgetBytes: number }) => sendMessage('saveSettings', patch),
    [],
  );
  const { run, pending, error, setError } = useAction(save);

  const onSubmit = async (event: FormEvent) => {
    event.preventDefault();
    setSaved(false);
    const url = serverUrlSchema.safeParse(serverUrlText);
    if (!url.success) {
      setError(`Server address: ${describeIssues(url.error)}`);
      return;
    }
    const megabytes = Number(budgetText.trim());
    const budget = dailyBudgetBytesSchema.safeParse(
      budgetText.trim() === '' || !Number.isFinite(megabytes) ? Number.NaN : Math.round(megabytes * bytesPerMegabyte),
    );
    if (!budget.success) {
      setError(`Daily budget: ${describeIssues(budget.error)}`);
      return;
    }
    setServerUrlText(url.data);
    if (await run({ serverUrl: url.data, dailyBudgetBytes: budget.data })) setSaved(true);
  };

  return (
    <form onSubmit={onSubmit} noValidate className="space-y-4" aria-label="Settings">
      <ServerUrlField value={serverUrlText} onChange={setServerUrlText} />
      <div>
        <label htmlFor="settings-daily-budget" className="block text-sm font-medium">
          Daily budget (MB)
        </label>
        <input
          id="settings-daily-budget"
          data-testid="daily-budget"
          type="number"
          inputMode="numeric"
          min={minDailyBudgetMegabytes}
          max={maxDailyBudgetMegabytes}
          value={budgetText}
          onChange={(event) => setBudgetText(event.target.value)}
          className="mt-1 w-40 rounded-md border border-slate-300 px-3 py-2 text-sm"
        />
        <p className="mt-1 text-xs text-slate-500">The most Gleaner may download from your connection per day.</p>
      </div>
      <ErrorText error={error} testId="settings-error" />
      <div className="flex items-center gap-3">
        <button
          type="submit"
          data-testid="save-settings"
          disabled={pending}
          className="rounded-md bg-slate-800 px-4 py-2 text-sm font-medium text-white hover:bg-slate-900 disabled:opacity-60"
        >
          {pending ? 'Saving…' : 'Save settings'}
        </button>
        {saved && (
          <span data-testid="settings-saved" className="text-sm text-emerald-700">
            Saved.
          </span>
        )}
      </div>
    </form>
  );
}
