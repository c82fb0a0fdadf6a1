/** One bar: a day and its parts stacked bottom up (one part for a plain count). */
export interface ChartDay {
  day: string;
  parts: number[];
}

export interface ChartPart {
  /** What the part counts, for the legend and each bar's tooltip ("verified"). */
  label: string;
  /** Tailwind fill class of its bars. */
  fill: string;
}

const barWidth = 8;
const gap = 2;
const height = 48;

/**
 * A small bar chart of one measure over the days, in plain SVG: each bar carries its day and value as a
 * tooltip (`<title>`), and the whole chart a sentence for screen readers (total, busiest day); the table
 * under the charts has every number.
 */
export function HistoryChart({
  title,
  days,
  parts,
  format,
  testId,
}: {
  title: string;
  days: readonly ChartDay[];
  parts: readonly ChartPart[];
  format: (value: number) => string;
  testId: string;
}) {
  const totals = days.map((day) => day.parts.reduce((sum, value) => sum + Math.max(0, value), 0));
  const highest = Math.max(0, ...totals);
  const total = totals.reduce((sum, value) => sum + value, 0);
  const busiest = days[totals.indexOf(highest)]?.day;
  const summary =
    total === 0
      ? `${title}: none in the last ${days.length} days.`
      : `${title}: ${format(total)} in the last ${days.length} days, most on ${busiest} (${format(highest)}).`;
  const width = days.length * (barWidth + gap) - gap;
  return (
    <figure data-testid={testId} className="space-y-1">
      <figcaption className="flex items-baseline justify-between gap-2 text-sm">
        <span className="font-medium text-slate-700">{title}</span>
        <span data-testid={`${testId}-total`} className="text-slate-500">
          {format(total)} in {days.length} days
        </span>
      </figcaption>
      <svg
        role="img"
        aria-label={summary}
        viewBox={`0 0 ${width} ${height}`}
        preserveAspectRatio="none"
        className="h-12 w-full rounded bg-slate-50"
      >
        <title>{summary}</title>
        {days.map((day, index) => {
          let top = height;
          const x = index * (barWidth + gap);
          const tooltip = [day.day, ...parts.map((part, i) => `${part.label} ${format(day.parts[i] ?? 0)}`)].join(', ');
          return (
            <g key={day.day}>
              <title>{tooltip}</title>
              {/* A full-height, invisible target so the tooltip shows on empty days too. */}
              <rect x={x} y={0} width={barWidth} height={height} fill="transparent" />
              {parts.map((part, i) => {
                const value = Math.max(0, day.parts[i] ?? 0);
                const barHeight = highest === 0 ? 0 : (value / highest) * height;
                top -= barHeight;
                return (
                  <rect key={part.label} x={x} y={top} width={barWidth} height={barHeight} className={part.fill} />
                );
              })}
            </g>
          );
        })}
      </svg>
      <div className="flex justify-between text-xs text-slate-500" aria-hidden="true">
        <span>{days[0]?.day}</span>
        {parts.length > 1 && (
          <span className="flex gap-2">
            {parts.map((part) => (
              <span key={part.label} className="inline-flex items-center gap-1">
                <svg viewBox="0 0 8 8" className="h-2 w-2" aria-hidden="true">
                  <title>{part.label}</title>
                  <rect width="8" height="8" className={part.fill} />
                </svg>
                {part.label}
              </span>
            ))}
          </span>
        )}
        <span>today</span>
      </div>
    </figure>
  );
}
