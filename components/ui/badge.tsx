import type { ReactNode } from 'react';

/** How a state reads at a glance: the colour says the kind, the words say the state. */
export type BadgeTone = 'neutral' | 'working' | 'good' | 'bad' | 'paused';

const toneClasses: Record<BadgeTone, string> = {
  neutral: 'bg-slate-100 text-slate-700',
  working: 'bg-amber-100 text-amber-800',
  good: 'bg-emerald-100 text-emerald-800',
  bad: 'bg-red-100 text-red-800',
  paused: 'bg-sky-100 text-sky-800',
};

/** A short state word in a coloured pill; the words carry the meaning, never the colour alone. */
export function Badge({ tone, children, testId }: { tone: BadgeTone; children: ReactNode; testId?: string }) {
  return (
    <span
      data-testid={testId}
      className={`inline-flex items-center rounded-full px-2.5 py-0.5 text-sm font-medium ${toneClasses[tone]}`}
    >
      {children}
    </span>
  );
}
