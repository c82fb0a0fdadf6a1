import type { WalletSession } from '@protocol/contributors';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createMemoryHistory, RouterProvider } from '@tanstack/react-router';
import { render } from '@testing-library/react';
import { ApiKeyProvider } from '../src/auth/api-key-context';
import { createConsoleRouter } from '../src/router';
import { ContributorSessionProvider } from '../src/wallet/contributor-session';

/**
 * Renders the whole console (router, queries, key, contributor session) at `path`, as main.tsx does,
 * talking to the API at `baseUrl`; signed in as a contributor only when given `session`.
 */
export function renderConsole({
  path,
  baseUrl,
  apiKey = null,
  session = null,
}: {
  path: string;
  baseUrl: string;
  apiKey?: string | null;
  session?: WalletSession | null;
}) {
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const router = createConsoleRouter(createMemoryHistory({ initialEntries: [path] }));
  const view = render(
    <QueryClientProvider client={queryClient}>
      <ApiKeyProvider initialKey={apiKey} baseUrl={baseUrl}>
        <ContributorSessionProvider baseUrl={baseUrl} initialSession={session}>
          <RouterProvider router={router} />
        </ContributorSessionProvider>
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
