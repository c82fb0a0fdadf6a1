/**
 * A progress bar with its numbers in words beside it. With `max` null the total is not known yet:
 * the bar says so rather than pretending to a percentage.
 */
export function ProgressBar({
  label,
  value,
  max,
  detail,
}: {
  label: string;
  value: number;
  max: number | null;
  /** Words after the numbers, e.g. the phase of a build. */
  detail?: string;
}) {
  const known = max !== null && max > 0;
  const share = known ? Math.min(1, Math.max(0, value / max)) : 0;
  const numbers =
    max === null
      ? `${value.toLocaleString('en-US')} so far`
      : `${value.toLocaleString('en-US')} of ${max.toLocaleString('en-US')}`;
  return (
    <div>
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={known ? max : undefined}
        aria-valuenow={known ? Math.min(value, max) : undefined}
        aria-valuetext={detail ? `${numbers}, ${detail}` : numbers}
        className="h-2 w-full overflow-hidden rounded-full bg-stone-200"
      >
        <div
          className={`h-full rounded-full bg-emerald-600 transition-[width] ${known ? '' : 'animate-pulse'}`}
          style={{ width: known ? `${(share * 100).toFixed(1)}%` : '100%', opacity: known ? 1 : 0.3 }}
        />
      </div>
      <p className="mt-1 text-xs text-stone-600">
        {numbers}
        {known && ` (${Math.floor(share * 100)}%)`}
        {detail && ` · ${detail}`}
      </p>
    </div>
  );
}
