import type { ReactNode } from 'react';

/** Terms and their values in two aligned columns: a page's figures and settings at a glance. */
export function Facts({ children }: { children: ReactNode }) {
  return <dl className="grid grid-cols-[max-content_1fr] gap-x-6 gap-y-1 text-sm">{children}</dl>;
}

/** One term of `Facts` and its value; `testId` marks the value for tests. */
export function Fact({
  term,
  testId,
  className,
  children,
}: {
  term: string;
  testId?: string;
  className?: string;
  children: ReactNode;
}) {
  return (
    <>
      <dt className="text-stone-500">{term}</dt>
      <dd data-testid={testId} className={className}>
        {children}
      </dd>
    </>
  );
}
