import { useCallback } from 'react';
import type { Address } from 'viem';
import { useSignMessage } from 'wagmi';
import { contributorApi } from '../api/contributor-api';
import { useContributorSession } from './contributor-session';
import { useRewardChain } from './reward-chain';
import { buildWalletMessage, type WalletMessagePurpose } from './siwe-messages';

/** Asks the server for a nonce, builds the SIWE message for `purpose` and has the wallet sign it. */
export function useWalletSignature() {
  const { publicApi } = useContributorSession();
  const { chainId } = useRewardChain();
  const { mutateAsync: signMessage } = useSignMessage();
  return useCallback(
    async (address: Address, purpose: WalletMessagePurpose) => {
      const { nonce } = await contributorApi.nonce(publicApi);
      const message = buildWalletMessage({ purpose, address, chainId, nonce, location: window.location });
      const signature = await signMessage({ account: address, message });
      return { message, signature };
    },
    [publicApi, chainId, signMessage],
  );
}
