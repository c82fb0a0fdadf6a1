import { useLiveQuery } from 'dexie-react-hooks';
import type { FetchLogRow } from '@/lib/db';
import { listRecentFetches } from '@/lib/fetch-log';
import { formatBytes, formatDateTime } from '@/lib/format';
import { shortenUrl } from '@/lib/history-url';
import { useDb } from './db-context';
import { CopyButton } from './ui/copy-button';

const shownRows = 100;

const outcomeLabels: Record<FetchLogRow['outcome'], string> = {
  ok: 'Kept',
  blocked: 'Blocked by a safety rule',
  discarded: 'Fetched, then discarded',
  error: 'Failed',
};

/** Every URL recently fetched from the contributor's IP (pages, and images shown for labeling), newest first, live. */
export function FetchLogTable() {
  const db = useDb();
  const rows = useLiveQuery(() => listRecentFetches(db, shownRows), [db]);
  if (rows === undefined) return <p className="text-sm text-slate-500">Loading…</p>;
  return (
    <div data-testid="fetch-log" className="overflow-x-auto">
      <table className="w-full text-left text-sm">
        <caption className="sr-only">Pages fetched from your connection</caption>
        <thead className="border-b border-slate-200 text-slate-600">
          <tr>
            <th className="py-2 pr-4 font-medium">Time</th>
            <th className="py-2 pr-4 font-medium">Address</th>
            <th className="py-2 pr-4 font-medium">Status</th>
            <th className="py-2 pr-4 font-medium">Size</th>
            <th className="py-2 font-medium">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={5} className="py-3 text-slate-500">
                Nothing has been fetched from your connection yet.
              </td>
            </tr>
          ) : (
            rows.map((row) => (
              <tr key={row.id} data-testid="fetch-log-row" className="border-b border-slate-100">
                <td className="whitespace-nowrap py-2 pr-4">{formatDateTime(row.at)}</td>
                <td className="max-w-md py-2 pr-4 font-mono text-xs">
                  {/* One line, shortened in the middle (lib/history-url.ts), never wrapped mid-word; the
                      full address on hover, to screen readers and through Copy. */}
                  <span className="flex items-center gap-2">
                    <span
                      data-testid="fetch-log-url"
                      title={row.url}
                      aria-hidden="true"
                      className="min-w-0 truncate whitespace-nowrap"
                    >
                      {shortenUrl(row.url)}
                    </span>
                    <span className="sr-only">{row.url}</span>
                    <span className="shrink-0 font-sans">
                      <CopyButton text={row.url} label={`Copy the address ${row.url}`} />
                    </span>
                  </span>
                  {row.kind === 'image' && (
                    <span data-testid="fetch-log-image" className="block font-sans text-slate-500">
                      The image of a labeling task, shown in the popup
                    </span>
                  )}
                </td>
                <td className="py-2 pr-4">{row.status ?? '—'}</td>
                <td className="whitespace-nowrap py-2 pr-4">{formatBytes(row.bytes)}</td>
                <td className="py-2">
                  {outcomeLabels[row.outcome]}
                  {row.reason && <span className="block text-xs text-slate-500">{row.reason}</span>}
                  {row.rejection && (
                    <span data-testid="fetch-log-rejection" className="block text-xs text-red-700">
                      Rejected by the server: {row.rejection}
                    </span>
                  )}
                </td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
