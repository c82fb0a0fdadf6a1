import { useId } from 'react';
import { chartTop, type DayPoints, describeDay } from './points-chart-data';

const series = [
  { key: 'verified', label: 'Verified', fill: '#047857' },
  { key: 'pending', label: 'Pending', fill: '#d97706' },
  { key: 'rejected', label: 'Rejected', fill: '#b91c1c' },
] as const;

const width = 600;
const height = 160;
const gap = 2;

/** Points per day as stacked bars (verified at the bottom, then pending, then rejected), in plain SVG. */
export function PointsChart({ rows }: { rows: readonly DayPoints[] }) {
  const titleId = useId();
  const top = chartTop(rows);
  const barWidth = rows.length > 0 ? width / rows.length : width;
  const first = rows[0]?.day ?? '';
  const last = rows.at(-1)?.day ?? '';
  return (
    <figure className="space-y-2">
      <svg
        role="img"
        aria-labelledby={titleId}
        viewBox={`0 0 ${width} ${height}`}
        className="h-40 w-full rounded border border-stone-200 bg-stone-50"
        preserveAspectRatio="none"
        data-testid="points-chart"
      >
        <title id={titleId}>
          Points per day from {first} to {last}, up to {top} points a day
        </title>
        {rows.map((row, index) => {
          let y = height;
          return (
            <g key={row.day} data-day={row.day}>
              <title>{describeDay(row)}</title>
              {series.map(({ key, fill }) => {
                const barHeight = (row[key] / top) * height;
                y -= barHeight;
                return barHeight > 0 ? (
                  <rect
                    key={key}
                    x={index * barWidth + gap / 2}
                    y={y}
                    width={Math.max(1, barWidth - gap)}
                    height={barHeight}
                    fill={fill}
                  />
                ) : null;
              })}
            </g>
          );
        })}
      </svg>
      <figcaption className="flex flex-wrap gap-4 text-xs text-stone-600">
        {series.map(({ key, label, fill }) => (
          <span key={key} className="flex items-center gap-1">
            <span aria-hidden="true" className="inline-block h-3 w-3 rounded-sm" style={{ background: fill }} />
            {label}
          </span>
        ))}
        <span className="ml-auto">
          {first} – {last} (UTC), scale 0–{top}
        </span>
      </figcaption>
    </figure>
  );
}
