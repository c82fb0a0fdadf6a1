import type { LineProblem } from '../parse/url-list';

/** Lines of an upload the console set aside, with why. */
export function ProblemList({ title, problems }: { title: string; problems: LineProblem[] }) {
  const shown = problems.slice(0, 200);
  return (
    <div role="alert" aria-label={title} className="rounded-md bg-amber-50 p-3 text-sm text-amber-900">
      <p className="font-medium">{title}</p>
      <ul className="mt-1 list-disc pl-5">
        {shown.map((problem) => (
          <li key={`${problem.line}:${problem.message}`}>
            line {problem.line}: {problem.message}
          </li>
        ))}
      </ul>
      {problems.length > shown.length && <p>…and {problems.length - shown.length} more.</p>}
    </div>
  );
}
