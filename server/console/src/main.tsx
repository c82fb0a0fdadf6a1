import { BaseError } from '@protocol/errors';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { RouterProvider } from '@tanstack/react-router';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiKeyProvider } from './auth/api-key-context';
import { createConsoleRouter } from './router';
import { ContributorSessionProvider } from './wallet/contributor-session';
import './styles.css';

// An API error is an answer, not a hiccup: retrying a 400 or 401 only delays the words the buyer needs.
// Only a server that was unreachable or busy is asked again.
const transient = new Set(['server_unreachable', 'overloaded', 'rate_limited']);
const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      retry: (failures, error) => failures < 2 && error instanceof BaseError && transient.has(error.code),
      refetchOnWindowFocus: false,
    },
  },
});
const router = createConsoleRouter();
const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');

createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <ApiKeyProvider>
        {/* wagmi's provider is inside the rewards pages (wallet/reward-chain.tsx): its chain comes from the server. */}
        <ContributorSessionProvider>
          <RouterProvider router={router} />
        </ContributorSessionProvider>
      </ApiKeyProvider>
    </QueryClientProvider>
  </StrictMode>,
);
