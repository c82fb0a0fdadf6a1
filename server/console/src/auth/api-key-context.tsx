import { useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useCallback, useContext, useMemo, useState } from 'react';
import { type ApiClient, createApiClient } from '../api/api-client';
import { readApiKey, writeApiKey } from './api-key-store';

interface ApiKeyState {
  apiKey: string | null;
  api: ApiClient;
  /** A client for another key, to try a key before keeping it. */
  clientFor: (key: string) => ApiClient;
  signIn: (key: string) => void;
  /** Forgets the key and every answer fetched with it. */
  signOut: () => void;
}

const ApiKeyContext = createContext<ApiKeyState | null>(null);

/** Holds the signed-in key and the API client built from it. */
export function ApiKeyProvider({
  children,
  initialKey = readApiKey(),
  baseUrl,
}: {
  children: ReactNode;
  initialKey?: string | null;
  /** Where the API is; the page's own origin by default (tests point it at their server). */
  baseUrl?: string;
}) {
  const [apiKey, setApiKey] = useState<string | null>(initialKey);
  const queryClient = useQueryClient();
  const signIn = useCallback((key: string) => {
    writeApiKey(key);
    setApiKey(key);
  }, []);
  const signOut = useCallback(() => {
    writeApiKey(null);
    setApiKey(null);
    queryClient.clear();
  }, [queryClient]);
  const clientFor = useCallback((key: string | null) => createApiClient({ apiKey: key, baseUrl }), [baseUrl]);
  const api = useMemo(() => clientFor(apiKey), [clientFor, apiKey]);
  const value = useMemo(() => ({ apiKey, api, clientFor, signIn, signOut }), [apiKey, api, clientFor, signIn, signOut]);
  return <ApiKeyContext.Provider value={value}>{children}</ApiKeyContext.Provider>;
}

/** The signed-in key, the API client and sign in/out. */
export function useApiKey(): ApiKeyState {
  const state = useContext(ApiKeyContext);
  if (!state) throw new Error('useApiKey needs an ApiKeyProvider above it');
  return state;
}

/** The API client for the signed-in buyer. */
export function useApi(): ApiClient {
  return useApiKey().api;
}
