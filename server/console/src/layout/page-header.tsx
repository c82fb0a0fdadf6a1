import type { ReactNode } from 'react';

/** A page's title and the actions that belong beside it. */
export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="mb-6 flex flex-wrap items-center justify-between gap-3">
      <h1 className="text-2xl font-semibold">{title}</h1>
      <div className="flex flex-wrap items-center gap-2">{children}</div>
    </div>
  );
}

/** A white card around a section, with its heading. */
export function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section aria-label={title} className="rounded-lg border border-stone-200 bg-white p-5">
      <h2 className="mb-3 font-medium">{title}</h2>
      <div className="space-y-3">{children}</div>
    </section>
  );
}
