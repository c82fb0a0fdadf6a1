import { useLiveQuery } from 'dexie-react-hooks';
import { listRejectedUploads } from '@/lib/fetch-log';
import { formatDateTime } from '@/lib/format';
import type { StoredPoints } from '@/lib/settings';
import { useDb } from './db-context';
import { formatPoints } from './points-total';

interface Rejection {
  key: string;
  at: number;
  url: string | null;
  reason: string;
}

const shownRejections = 10;

/**
 * Points pending and verified as the server last reported them, and why recent work was rejected:
 * the server's verdicts (checks, disagreeing copies) and uploads it refused, newest first.
 */
export function PointsSummary({ points }: { points: StoredPoints | null }) {
  const db = useDb();
  const refused = useLiveQuery(() => listRejectedUploads(db, shownRejections), [db]);
  const rejections: Rejection[] = [
    ...(points?.recentRejections ?? []).map((entry) => ({
      key: `ledger:${entry.reference}`,
      at: Date.parse(entry.at),
      url: entry.url,
      reason: entry.reason,
    })),
    ...(refused ?? []).map((row) => ({
      key: `upload:${row.id}`,
      at: row.at,
      url: row.url,
      reason: row.rejection ?? '',
    })),
  ]
    .sort((a, b) => b.at - a.at)
    .slice(0, shownRejections);

  return (
    <div className="space-y-3">
      <dl className="grid grid-cols-2 gap-2 text-center">
        <div className="rounded-md bg-amber-50 p-2">
          <dt className="text-xs text-slate-500">Points pending</dt>
          <dd data-testid="points-pending" className="text-lg font-semibold">
            {formatPoints(points?.pending ?? 0)}
          </dd>
        </div>
        <div className="rounded-md bg-emerald-50 p-2">
          <dt className="text-xs text-slate-500">Points verified</dt>
          <dd data-testid="points-verified" className="text-lg font-semibold">
            {formatPoints(points?.verified ?? 0)}
          </dd>
        </div>
      </dl>
      {points === null && <p className="text-xs text-slate-500">Points appear after the first upload.</p>}
      {points?.pendingExplained && (
        <p data-testid="points-pending-why" className="text-xs text-slate-600">
          {points.pendingExplained.message}
          {points.pendingExplained.settlesBy &&
            ` They should settle by ${formatDateTime(Date.parse(points.pendingExplained.settlesBy))}.`}
        </p>
      )}
      <div>
        <h3 className="text-sm font-medium">Rejected work</h3>
        {rejections.length === 0 && <p className="text-xs text-slate-500">Nothing was rejected.</p>}
        <ul data-testid="rejections" className="mt-1 space-y-1">
          {rejections.map((rejection) => (
            <li key={rejection.key} data-testid="rejection" className="rounded-md bg-red-50 px-2 py-1 text-xs">
              <span className="text-red-800">{rejection.reason}</span>
              {rejection.url && <span className="block break-all font-mono text-slate-600">{rejection.url}</span>}
              {Number.isFinite(rejection.at) && (
                <span className="block text-slate-500">{formatDateTime(rejection.at)}</span>
              )}
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
