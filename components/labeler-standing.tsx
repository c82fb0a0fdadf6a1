import { goldPolicy } from '@protocol/labeling';
import type { LabelRejection, StoredStanding } from '@/lib/settings';

/** Gold answers the server needs before it judges a labeler (its warm-up). */
const goldWarmUp = goldPolicy.minGold;

const formatPoints = (points: number) => String(Math.round(points * 100) / 100);

/**
 * How the labeler is doing, as the server last said: the share of check questions answered right
 * (shown from the first one, with a note during the warm-up), label points pending and verified, and,
 * when their labels stop counting, the server's reason, prominently. Refused labels say why.
 */
export function LabelerStanding({
  standing,
  rejections,
}: {
  standing: StoredStanding | null;
  rejections: readonly LabelRejection[];
}) {
  if (!standing && rejections.length === 0) return null;
  return (
    <section aria-label="Your labeling" className="space-y-2">
      {standing && !standing.earning && (
        <p
          data-testid="labeling-status"
          role="status"
          className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm font-medium text-red-900"
        >
          {standing.reason ?? 'Your labels do not count or earn at the moment.'}
        </p>
      )}
      {standing && (
        <dl className="grid grid-cols-2 gap-2 text-center">
          <div className="rounded-md bg-slate-50 p-2">
            <dt className="text-xs text-slate-500">Right on check questions</dt>
            <dd data-testid="gold-accuracy" className="text-sm">
              {standing.goldAnswered === 0 ? (
                <span className="text-slate-600">none answered yet</span>
              ) : (
                <span className="text-lg font-semibold">
                  {Math.round((standing.goldCorrect / standing.goldAnswered) * 100)}%
                </span>
              )}
              {standing.goldAccuracy === null && (
                <span className="block text-xs text-slate-500">
                  (warming up: {Math.min(standing.goldAnswered, goldWarmUp)} of {goldWarmUp} checks)
                </span>
              )}
            </dd>
          </div>
          <div className="rounded-md bg-amber-50 p-2">
            <dt className="text-xs text-slate-500">Label points</dt>
            <dd data-testid="label-points" className="text-sm">
              <span className="font-semibold">{formatPoints(standing.points.pending)}</span> pending,{' '}
              <span className="font-semibold">{formatPoints(standing.points.verified)}</span> verified
            </dd>
          </div>
        </dl>
      )}
      {rejections.length > 0 && (
        <div>
          <h3 className="text-xs font-medium text-slate-700">Labels the server refused</h3>
          <ul data-testid="label-rejections" className="mt-1 space-y-1">
            {rejections.map((rejection) => (
              <li
                key={`${rejection.at}-${rejection.assignmentId}`}
                className="rounded-md bg-red-50 px-2 py-1 text-xs text-red-800"
              >
                {rejection.reason}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
