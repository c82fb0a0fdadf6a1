import { Button } from '@ui/button';
import { ErrorText } from '@ui/error-text';
import type { ReactNode } from 'react';
import type { Address } from 'viem';
import { useConnect, useConnection, useConnectors, useDisconnect, useSwitchChain } from 'wagmi';
import { describeWalletError, noWalletMessage } from '../chain/wallet-errors';
import { hasInjectedWallet } from '../wagmi-config';
import { useRewardChain } from './reward-chain';

/**
 * Shows its children only once the browser's wallet is connected on the server's chain, and says in words
 * what is missing until then: no wallet installed, not connected, or on another network (with a switch).
 */
export function WalletGate({ children }: { children: (address: Address) => ReactNode }) {
  const { chainId } = useRewardChain();
  const connection = useConnection();
  const connectors = useConnectors();
  const connect = useConnect();
  const disconnect = useDisconnect();
  const switchChain = useSwitchChain();

  if (!hasInjectedWallet() && !connection.isConnected) {
    return (
      <p data-testid="wallet-missing" className="text-sm text-stone-700">
        {noWalletMessage}
      </p>
    );
  }
  if (!connection.isConnected || !connection.address) {
    const connector = connectors[0];
    return (
      <div className="space-y-2 text-sm">
        <Button
          data-testid="wallet-connect"
          disabled={!connector || connect.isPending || connection.isReconnecting}
          onClick={() => connector && connect.mutate({ connector, chainId })}
        >
          {connect.isPending ? 'Waiting for your wallet…' : 'Connect wallet'}
        </Button>
        <ErrorText
          error={connect.error ? describeWalletError(connect.error, { chainId }) : null}
          testId="wallet-error"
        />
      </div>
    );
  }
  const { address } = connection;
  const connected = (
    <p className="flex flex-wrap items-center gap-3 text-sm">
      <span>
        Wallet{' '}
        <span data-testid="wallet-address" className="font-mono">
          {address}
        </span>
      </span>
      <Button variant="secondary" onClick={() => disconnect.mutate({})}>
        Disconnect
      </Button>
    </p>
  );
  if (connection.chainId !== chainId) {
    return (
      <div className="space-y-2 text-sm">
        {connected}
        <p data-testid="wallet-wrong-chain">
          Your wallet is on another network (chain id {connection.chainId ?? 'unknown'}). Rewards are on chain id{' '}
          {chainId}.
        </p>
        <Button disabled={switchChain.isPending} onClick={() => switchChain.mutate({ chainId })}>
          {switchChain.isPending ? 'Waiting for your wallet…' : `Switch to chain ${chainId}`}
        </Button>
        <ErrorText error={switchChain.error ? describeWalletError(switchChain.error, { chainId }) : null} />
      </div>
    );
  }
  return (
    <div className="space-y-4">
      {connected}
      {children(address)}
    </div>
  );
}
