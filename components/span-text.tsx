import type { Ref } from 'react';
import type { Span } from '@/lib/label-answer';

/** One color per span label, by its number; the label name is also in each mark's title. */
export const spanColors = [
  'bg-amber-200',
  'bg-sky-200',
  'bg-emerald-200',
  'bg-fuchsia-200',
  'bg-orange-200',
  'bg-lime-200',
  'bg-rose-200',
  'bg-indigo-200',
  'bg-teal-200',
];

interface Segment {
  start: number;
  end: number;
  covering: Span[];
}

/** Cuts the text at every span boundary, so overlapping spans still render as plain nested-free marks. */
function segmentsOf(length: number, spans: readonly Span[]): Segment[] {
  const cuts = new Set([0, length]);
  for (const span of spans) {
    cuts.add(Math.min(span.start, length));
    cuts.add(Math.min(span.end, length));
  }
  const points = [...cuts].sort((a, b) => a - b);
  const segments: Segment[] = [];
  for (let i = 0; i + 1 < points.length; i += 1) {
    const start = points[i] as number;
    const end = points[i + 1] as number;
    if (end > start)
      segments.push({ start, end, covering: spans.filter((span) => span.start <= start && span.end >= end) });
  }
  return segments;
}

/**
 * The offsets in the text of the part the person selected inside `container`, without surrounding
 * white space; null when nothing (or something outside it) is selected. The container's text must
 * be exactly the item's text, which `SpanText` guarantees.
 */
export function selectedOffsets(container: HTMLElement, text: string): { start: number; end: number } | null {
  const selection = window.getSelection();
  if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
  const range = selection.getRangeAt(0);
  if (!container.contains(range.startContainer) || !container.contains(range.endContainer)) return null;
  const before = document.createRange();
  before.selectNodeContents(container);
  before.setEnd(range.startContainer, range.startOffset);
  let start = before.toString().length;
  let end = Math.min(text.length, start + range.toString().length);
  while (start < end && /\s/.test(text[start] ?? '')) start += 1;
  while (end > start && /\s/.test(text[end - 1] ?? '')) end -= 1;
  return end > start ? { start, end } : null;
}

/** The item's text with its marked spans highlighted in their label's color. */
export function SpanText({
  text,
  spans,
  labels,
  ref,
}: {
  text: string;
  spans: readonly Span[];
  labels: readonly string[];
  ref?: Ref<HTMLDivElement>;
}) {
  return (
    <div
      ref={ref}
      data-testid="task-text"
      className="max-h-56 overflow-auto whitespace-pre-wrap break-words rounded-md border border-slate-200 bg-white p-3 text-sm leading-relaxed"
    >
      {segmentsOf(text.length, spans).map((segment) => {
        const piece = text.slice(segment.start, segment.end);
        const first = segment.covering[0];
        if (!first) return <span key={segment.start}>{piece}</span>;
        const names = segment.covering.map((span) => span.label).join(', ');
        return (
          <mark
            key={segment.start}
            title={names}
            className={`rounded-sm text-inherit ${spanColors[labels.indexOf(first.label)] ?? 'bg-slate-200'}`}
          >
            {piece}
          </mark>
        );
      })}
    </div>
  );
}
