import { formatDateTime } from '@/lib/format';
import type { StoredPoints } from '@/lib/settings';

/** Points are whole numbers on the server; shown with thousands separators. */
export const formatPoints = (points: number) => Math.round(points).toLocaleString('en-US');

const hourMs = 60 * 60 * 1000;

/** Roughly when, for people: "within the hour", "in about 5 hours", "in about 3 days". */
function roughlyWhen(at: number, now: number): string {
  const ahead = at - now;
  if (ahead <= hourMs) return 'within the hour';
  if (ahead < 36 * hourMs) return `in about ${Math.round(ahead / hourMs)} hours`;
  return `in about ${Math.round(ahead / (24 * hourMs))} days`;
}

/**
 * One points total for the popup: the verified points (what counts), then what is pending, what it
 * waits for and roughly when it settles, and the newest rejection in a line; the settings list the rest.
 */
export function PointsTotal({ points, now }: { points: StoredPoints | null; now: number }) {
  if (points === null) {
    return (
      <section data-testid="points-total" className="rounded-md bg-emerald-50 px-3 py-2">
        <p className="text-sm">
          <span className="text-slate-600">Points </span>
          <span data-testid="points-verified" className="text-lg font-semibold">
            0
          </span>
        </p>
        <p className="text-xs text-slate-600">Points appear once your first work is uploaded and checked.</p>
      </section>
    );
  }
  const explained = points.pendingExplained ?? null;
  const settlesBy = explained?.settlesBy ? Date.parse(explained.settlesBy) : null;
  const why =
    explained?.message ??
    'They wait for checks of your work: audits of pages, agreement with other labelers on labels.';
  const when =
    settlesBy === null
      ? ''
      : ` They should settle ${roughlyWhen(settlesBy, now)} (by ${formatDateTime(settlesBy)}), if your work holds up.`;
  const latest = points.recentRejections[0];
  return (
    <section data-testid="points-total" className="space-y-1 rounded-md bg-emerald-50 px-3 py-2">
      <p className="flex items-baseline gap-2 text-sm">
        <span className="text-slate-600">Points</span>
        <span data-testid="points-verified" className="text-lg font-semibold">
          {formatPoints(points.verified)}
        </span>
        <span className="text-slate-600">verified</span>
        {points.pending > 0 && (
          <span className="ml-auto text-slate-700">
            + <span data-testid="points-pending">{formatPoints(points.pending)}</span> pending
          </span>
        )}
      </p>
      {points.pending > 0 && (
        <p data-testid="points-pending-why" title={`${why}${when}`} className="line-clamp-3 text-xs text-slate-600">
          {why}
          {when}
        </p>
      )}
      {latest && (
        <p data-testid="latest-rejection" title={latest.reason} className="truncate text-xs text-red-800">
          Rejected lately: {latest.reason}
        </p>
      )}
    </section>
  );
}
