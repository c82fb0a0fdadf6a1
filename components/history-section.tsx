import type { DevicePointsByDay } from '@protocol/points';
import { useLiveQuery } from 'dexie-react-hooks';
import { useEffect, useState } from 'react';
import { toErrorBody } from '@/lib/errors';
import { startOfLocalDay } from '@/lib/fetch-log';
import { formatBytes } from '@/lib/format';
import { fetchLogByDay, historyDayCount, localTimeZone, mergeHistory } from '@/lib/history';
import { sendMessage } from '@/lib/messages';
import { useDb } from './db-context';
import { HistoryChart } from './history-chart';
import { useNow } from './use-now';

type ServerHistory =
  | { status: 'loading' }
  | { status: 'loaded'; data: DevicePointsByDay }
  | { status: 'failed'; message: string };

const count = (value: number) => value.toLocaleString();

/**
 * The last 30 local days (options page): pages and bytes from this browser's fetch log, labels and points
 * from the server, charted and, for every number, in a table.
 */
export function HistorySection() {
  const db = useDb();
  // Re-read when the day changes, not only when the database does.
  const today = startOfLocalDay(useNow(60_000));
  const local = useLiveQuery(() => fetchLogByDay(db, today), [db, today]);
  const timeZone = localTimeZone();
  const [server, setServer] = useState<ServerHistory>({ status: 'loading' });
  useEffect(() => {
    let current = true;
    // `today` makes a new day ask again; the answer is for the day the request was made.
    void today;
    sendMessage('getPointsByDay', { days: historyDayCount, timeZone }).then(
      (data) => current && setServer({ status: 'loaded', data }),
      (error: unknown) => current && setServer({ status: 'failed', message: toErrorBody(error).message }),
    );
    return () => {
      current = false;
    };
  }, [timeZone, today]);

  if (local === undefined) return <p className="text-sm text-slate-500">Loading…</p>;
  const days = mergeHistory(local, server.status === 'loaded' ? server.data : null);
  const fromServer = server.status === 'loaded';
  return (
    <div className="space-y-4">
      <p className="text-sm text-slate-600">
        Your local days ({timeZone}). Pages and bytes come from this browser’s fetch log; labels and points from the
        server, on the day the work was done, in their state now.
      </p>
      <div className="grid gap-4 sm:grid-cols-2">
        <HistoryChart
          testId="history-pages"
          title="Pages kept"
          days={days.map((day) => ({ day: day.day, parts: [day.pages] }))}
          parts={[{ label: 'pages', fill: 'fill-sky-600' }]}
          format={count}
        />
        <HistoryChart
          testId="history-bytes"
          title="Downloaded"
          days={days.map((day) => ({ day: day.day, parts: [day.bytes] }))}
          parts={[{ label: 'downloaded', fill: 'fill-slate-500' }]}
          format={formatBytes}
        />
        {fromServer ? (
          <>
            <HistoryChart
              testId="history-labels"
              title="Labels given"
              days={days.map((day) => ({ day: day.day, parts: [day.labels ?? 0] }))}
              parts={[{ label: 'labels', fill: 'fill-violet-600' }]}
              format={count}
            />
            <HistoryChart
              testId="history-points"
              title="Points earned"
              days={days.map((day) => ({ day: day.day, parts: [day.points?.verified ?? 0, day.points?.pending ?? 0] }))}
              parts={[
                { label: 'verified', fill: 'fill-emerald-600' },
                { label: 'pending', fill: 'fill-amber-400' },
              ]}
              format={count}
            />
          </>
        ) : (
          <p data-testid="history-server" className="text-sm text-slate-500 sm:col-span-2">
            {server.status === 'loading'
              ? 'Reading labels and points per day from the server…'
              : `Labels and points per day come from the server, which could not be asked: ${server.message}`}
          </p>
        )}
      </div>
      <details>
        <summary className="cursor-pointer text-sm text-slate-700">Every day as a table</summary>
        <div className="mt-2 overflow-x-auto">
          <table data-testid="history-table" className="w-full text-right text-sm tabular-nums">
            <caption className="sr-only">Your work per local day, oldest first</caption>
            <thead className="border-b border-slate-200 text-slate-600">
              <tr>
                <th scope="col" className="py-1 pr-3 text-left font-medium">
                  Day
                </th>
                <th scope="col" className="py-1 pr-3 font-medium">
                  Pages
                </th>
                <th scope="col" className="py-1 pr-3 font-medium">
                  Downloaded
                </th>
                <th scope="col" className="py-1 pr-3 font-medium">
                  Labels
                </th>
                <th scope="col" className="py-1 pr-3 font-medium">
                  Points verified
                </th>
                <th scope="col" className="py-1 pr-3 font-medium">
                  Pending
                </th>
                <th scope="col" className="py-1 font-medium">
                  Rejected
                </th>
              </tr>
            </thead>
            <tbody>
              {days.map((day) => (
                <tr key={day.day} data-testid="history-day" className="border-b border-slate-100">
                  <th scope="row" className="py-1 pr-3 text-left font-normal">
                    {day.day}
                  </th>
                  <td className="py-1 pr-3">{count(day.pages)}</td>
                  <td className="whitespace-nowrap py-1 pr-3">{formatBytes(day.bytes)}</td>
                  <td className="py-1 pr-3">{day.labels === null ? '—' : count(day.labels)}</td>
                  <td className="py-1 pr-3">{day.points === null ? '—' : count(day.points.verified)}</td>
                  <td className="py-1 pr-3">{day.points === null ? '—' : count(day.points.pending)}</td>
                  <td className="py-1">{day.points === null ? '—' : count(day.points.rejected)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </div>
  );
}
