const units: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
];

/** How long ago (or until) `iso` is, in words: "3 hours ago", "yesterday", "just now". */
export function formatRelativeTime(iso: string, now = Date.now()): string {
  const delta = Date.parse(iso) - now;
  if (Number.isNaN(delta)) return '—';
  const format = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  for (const [unit, size] of units) {
    if (Math.abs(delta) >= size) return format.format(Math.round(delta / size), unit);
  }
  return 'just now';
}
