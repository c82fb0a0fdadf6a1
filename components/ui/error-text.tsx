/** An error for people to read, announced to screen readers; renders nothing without one. */
export function ErrorText({ error, testId, id }: { error: string | null | undefined; testId?: string; id?: string }) {
  if (!error) return null;
  return (
    <p role="alert" id={id} data-testid={testId} className="mt-2 rounded-md bg-red-50 px-3 py-2 text-sm text-red-800">
      {error}
    </p>
  );
}
