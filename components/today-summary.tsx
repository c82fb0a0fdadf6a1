import { useLiveQuery } from 'dexie-react-hooks';
import { startOfLocalDay, totalsForToday } from '@/lib/fetch-log';
import { formatBytes } from '@/lib/format';
import { useDb } from './db-context';
import { useNow } from './use-now';

/** Today's work from the fetch log (pages kept, bytes received) and the results waiting to upload, live. */
export function TodaySummary() {
  const db = useDb();
  // Re-read when the day changes, not only when the database does.
  const day = startOfLocalDay(useNow(60_000));
  const totals = useLiveQuery(() => totalsForToday(db, day), [db, day]);
  const waiting = useLiveQuery(() => db.outbox.count(), [db]);
  return (
    <dl className="grid grid-cols-3 gap-2 text-center">
      <div className="rounded-md bg-slate-50 p-2">
        <dt className="text-xs text-slate-500">Pages today</dt>
        <dd data-testid="pages-today" className="text-lg font-semibold">
          {totals?.pages ?? 0}
        </dd>
      </div>
      <div className="rounded-md bg-slate-50 p-2">
        <dt className="text-xs text-slate-500">Downloaded today</dt>
        <dd>
          <span className="text-lg font-semibold">{formatBytes(totals?.bytes ?? 0)}</span>
          <span className="block text-xs text-slate-500">
            <span data-testid="bytes-today">{totals?.bytes ?? 0}</span> bytes
          </span>
        </dd>
      </div>
      <div className="rounded-md bg-slate-50 p-2">
        <dt className="text-xs text-slate-500">Waiting to upload</dt>
        <dd data-testid="outbox-count" className="text-lg font-semibold">
          {waiting ?? 0}
        </dd>
      </div>
    </dl>
  );
}
