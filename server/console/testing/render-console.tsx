import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createMemoryHistory, RouterProvider } from '@tanstack/react-router';
import { render } from '@testing-library/react';
import { ApiKeyProvider } from '../src/auth/api-key-context';
import { createConsoleRouter } from '../src/router';

/** Renders the whole console (router, queries, key) at `path`, talking to the API at `baseUrl`. */
export function renderConsole({
  path,
  baseUrl,
  apiKey = null,
}: {
  path: string;
  baseUrl: string;
  apiKey?: string | null;
}) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const router = createConsoleRouter(createMemoryHistory({ initialEntries: [path] }));
  const view = render(
    <QueryClientProvider client={queryClient}>
      <ApiKeyProvider initialKey={apiKey} baseUrl={baseUrl}>
        <RouterProvider router={router} />
      </ApiKeyProvider>
    </QueryClientProvider>,
  );
  return { ...view, router, queryClient };
}

/** What screen readers announce as an element's description: the texts its aria-describedby names. */
export function descriptionOf(element: HTMLElement): string {
  return (element.getAttribute('aria-describedby') ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((id) => element.ownerDocument.getElementById(id)?.textContent ?? '')
    .join(' ');
}
