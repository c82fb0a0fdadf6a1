import type { ChainInfo } from '@protocol/chain';
import { defineChain } from 'viem';
import { createConfig, http, unstable_connector } from 'wagmi';
import { injected } from 'wagmi/connectors';

/** The wagmi config for the server's reward chain (`GET /v1/chain`), so the wallet is asked for exactly that chain. */
export function createWagmiConfig(info: ChainInfo) {
  const chain = defineChain({
    id: info.chainId,
    name: info.local ? 'Gleaner local chain' : `Gleaner reward chain ${info.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: info.rpcUrl ? [info.rpcUrl] : [] } },
  });
  return createConfig({
    chains: [chain],
    // One "Connect wallet" button for the browser's wallet (window.ethereum). EIP-6963 discovery would add a
    // button per installed wallet, whose names and order change from browser to browser.
    multiInjectedProviderDiscovery: false,
    connectors: [injected()],
    // Reads go through the server's public RPC when it names one, otherwise through the wallet itself.
    transports: { [chain.id]: info.rpcUrl ? http(info.rpcUrl) : unstable_connector(injected) },
  });
}

/** Whether the browser has an injected wallet; checked when asked, as some wallets inject after the page loads. */
export function hasInjectedWallet(): boolean {
  return typeof window !== 'undefined' && (window as { ethereum?: unknown }).ethereum !== undefined;
}
