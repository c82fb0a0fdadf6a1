import type { ChainInfo } from '@protocol/chain';
import { useQuery } from '@tanstack/react-query';
import { Outlet } from '@tanstack/react-router';
import { createContext, memo, useContext, useMemo } from 'react';
import { WagmiProvider } from 'wagmi';
import { contributorApi } from '../api/contributor-api';
import { QueryError } from '../layout/query-error';
import { createWagmiConfig } from '../wagmi-config';
import { useContributorSession } from './contributor-session';

const RewardChainContext = createContext<ChainInfo | null>(null);

/** The configs made so far, by chain: one per chain for the page's life, so wagmi keeps its connection when the page changes. */
const configs = new Map<string, ReturnType<typeof createWagmiConfig>>();

function configFor(info: ChainInfo) {
  const key = `${info.chainId} ${info.rpcUrl ?? ''}`;
  let config = configs.get(key);
  if (!config) {
    config = createWagmiConfig(info);
    configs.set(key, config);
  }
  return config;
}

/**
 * The frame of the wallet pages: reads the server's reward chain (`GET /v1/chain`) first, then gives wagmi
 * a config for exactly that chain. Buyer pages never load it, so a server without a chain costs them nothing.
 */
export function RewardChainFrame() {
  const { publicApi } = useContributorSession();
  const chain = useQuery({
    queryKey: ['chain'],
    queryFn: () => contributorApi.chain(publicApi),
    staleTime: Number.POSITIVE_INFINITY,
  });
  const config = useMemo(() => (chain.data ? configFor(chain.data) : null), [chain.data]);
  if (chain.isError) return <QueryError error={chain.error} testId="chain-status" />;
  if (!chain.data || !config) return <p data-testid="chain-status">Reading the reward chain…</p>;
  return <WalletPages info={chain.data} config={config} />;
}

/**
 * Memoized because WagmiProvider asks the wallet to reconnect on every render, not only the first: the
 * frame re-renders whenever its chain query's state changes, and that must not reach the wallet.
 */
const WalletPages = memo(function WalletPages({
  info,
  config,
}: {
  info: ChainInfo;
  config: ReturnType<typeof createWagmiConfig>;
}) {
  return (
    <RewardChainContext.Provider value={info}>
      <WagmiProvider config={config}>
        <Outlet />
      </WagmiProvider>
    </RewardChainContext.Provider>
  );
});

/** The server's reward chain and contracts (contracts null when rewards are published as files only). */
export function useRewardChain(): ChainInfo {
  const info = useContext(RewardChainContext);
  if (!info) throw new Error('useRewardChain needs RewardChainFrame above it');
  return info;
}
