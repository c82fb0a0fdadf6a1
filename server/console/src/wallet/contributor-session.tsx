import type { WalletSession } from '@protocol/contributors';
import { useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import { type ApiClient, createApiClient } from '../api/api-client';
import { readWalletSession, writeWalletSession } from './session-store';

interface ContributorSessionState {
  /** The signed-in wallet's session, or null. */
  session: WalletSession | null;
  /** Sends the session's token; a 401 from the server signs out. */
  api: ApiClient;
  /** Sends no credentials: chain, nonce, link, epochs and proofs. */
  publicApi: ApiClient;
  signIn: (session: WalletSession) => void;
  /** Forgets the session and every answer fetched with it. */
  signOut: () => void;
}

const ContributorSessionContext = createContext<ContributorSessionState | null>(null);

/** The query keys of everything the session fetched, cleared on sign-out. */
export const walletQueryKey = ['wallet'] as const;

/** Holds the contributor's wallet session and the API clients built from it. */
export function ContributorSessionProvider({
  children,
  baseUrl,
  initialSession = readWalletSession(),
}: {
  children: ReactNode;
  /** Where the API is; the page's own origin by default (tests point it at their server). */
  baseUrl?: string;
  initialSession?: WalletSession | null;
}) {
  const [session, setSession] = useState<WalletSession | null>(initialSession);
  const queryClient = useQueryClient();
  const signIn = useCallback((next: WalletSession) => {
    writeWalletSession(next);
    setSession(next);
  }, []);
  const signOut = useCallback(() => {
    writeWalletSession(null);
    setSession(null);
    queryClient.removeQueries({ queryKey: walletQueryKey });
  }, [queryClient]);
  const publicApi = useMemo(() => createApiClient({ apiKey: null, baseUrl }), [baseUrl]);
  const api = useMemo(() => {
    // The token expires or is revoked on the server: any 401 means this tab is no longer signed in, and
    // the page should offer Sign in again rather than show a dashboard of errors.
    const signingOutFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (response.status === 401) signOut();
      return response;
    };
    return createApiClient({ apiKey: session?.token ?? null, baseUrl, fetch: signingOutFetch });
  }, [session, baseUrl, signOut]);
  const value = useMemo(
    () => ({ session, api, publicApi, signIn, signOut }),
    [session, api, publicApi, signIn, signOut],
  );
  return <ContributorSessionContext.Provider value={value}>{children}</ContributorSessionContext.Provider>;
}

/** The wallet session, its API clients, sign in and out. */
export function useContributorSession(): ContributorSessionState {
  const state = useContext(ContributorSessionContext);
  if (!state) throw new Error('useContributorSession needs a ContributorSessionProvider above it');
  return state;
}
