import type { WalletOverview } from '@protocol/contributors';
import { BaseError as GleanerError } from '@protocol/errors';
import { useQuery } from '@tanstack/react-query';
import { Button } from '@ui/button';
import { useRef, useState } from 'react';
import type { Address } from 'viem';
import { useConfig, useReadContract, useReadContracts, useWriteContract } from 'wagmi';
import { waitForTransactionReceipt } from 'wagmi/actions';
import { contributorApi } from '../api/contributor-api';
import { distributorAbi, rewardTokenAbi } from '../chain/abis';
import { type Claimable, computeClaimable, epochsOfClaimable, formatTokenAmount } from '../chain/claimable';
import { describeWalletError, nothingLeftToClaimMessage } from '../chain/wallet-errors';
import { Fact, Facts } from '../layout/facts';
import { QueryError } from '../layout/query-error';
import { useContributorSession } from './contributor-session';
import { useRewardChain } from './reward-chain';

type ClaimStatus =
  | { step: 'idle' }
  | { step: 'wallet' }
  | { step: 'sent'; hash: string }
  | { step: 'claimed'; amount: bigint }
  | { step: 'nothing-left'; epoch: number }
  | { step: 'failed'; reason: string };

/**
 * Claimable tokens for the connected wallet and the Claim button. The proof is read for the epoch the
 * distributor has on chain now (`currentEpoch`), since claims are checked against that root: an epoch the
 * server has closed but the operator has not published yet cannot be claimed, and the panel says so.
 */
export function ClaimPanel({ address, rewards }: { address: Address; rewards: WalletOverview['rewards'] | undefined }) {
  const { contracts, chainId } = useRewardChain();
  if (!contracts) {
    return (
      <p className="text-sm text-stone-600" data-testid="claim-status">
        This server publishes rewards as epoch files only: it names no reward contracts on a chain, so there is nothing
        to claim here.
      </p>
    );
  }
  return <ClaimOnChain address={address} rewards={rewards} contracts={contracts} chainId={chainId} />;
}

function ClaimOnChain({
  address,
  rewards,
  contracts,
  chainId,
}: {
  address: Address;
  rewards: WalletOverview['rewards'] | undefined;
  contracts: NonNullable<ReturnType<typeof useRewardChain>['contracts']>;
  chainId: number;
}) {
  const { publicApi } = useContributorSession();
  const config = useConfig();
  const { mutateAsync: writeContract } = useWriteContract();
  const [status, setStatus] = useState<ClaimStatus>({ step: 'idle' });
  const distributor = contracts.distributor as Address;
  const format = (amount: bigint | string) => formatTokenAmount(amount, contracts.tokenDecimals, contracts.tokenSymbol);

  // Polled: the operator may publish the next epoch while the page is open, and its tokens become claimable then.
  const onChainEpoch = useReadContract({
    address: distributor,
    abi: distributorAbi,
    functionName: 'currentEpoch',
    chainId,
    query: { refetchInterval: 15_000 },
  });
  // Read together, so the page never shows a claim's tokens both as still claimable and as already in the wallet.
  const holdings = useReadContracts({
    allowFailure: false,
    contracts: [
      { address: distributor, abi: distributorAbi, functionName: 'claimed', args: [address], chainId },
      { address: contracts.token as Address, abi: rewardTokenAbi, functionName: 'balanceOf', args: [address], chainId },
    ],
  });
  const [claimedSoFar, balance] = holdings.data ?? [undefined, undefined];
  const epoch = onChainEpoch.data === undefined ? undefined : Number(onChainEpoch.data);
  const proof = useQuery({
    queryKey: ['proof', epoch, address],
    enabled: epoch !== undefined && epoch > 0,
    queryFn: async () => {
      try {
        return await contributorApi.proof(publicApi, epoch ?? 0, address);
      } catch (error) {
        // Not in that epoch: this wallet had no points paid by then, which is an answer, not a failure.
        if (error instanceof GleanerError && error.code === 'not_found') return null;
        throw error;
      }
    },
  });
  const claimable: Claimable | null =
    proof.data && claimedSoFar !== undefined ? computeClaimable(proof.data, claimedSoFar) : null;
  const fromEpochs = claimable
    ? epochsOfClaimable(
        (rewards?.epochs ?? []).filter((e) => e.published && e.epoch <= (epoch ?? 0)),
        claimable.amount,
      )
    : [];
  const waiting = (rewards?.epochs ?? []).filter((e) => !e.published || e.epoch > (epoch ?? 0)).map((e) => e.epoch);
  const busy = status.step === 'wallet' || status.step === 'sent';

  // Set in the click itself: `busy` only disables the button after a render, and a double click lands before it.
  const claiming = useRef(false);

  async function claim() {
    if (claiming.current) return;
    claiming.current = true;
    try {
      await claimLatest();
    } finally {
      claiming.current = false;
    }
  }

  /**
   * Claims with the proof of the epoch on chain now: the page polls it, but the operator may have published a
   * newer one since, whose root rejects the older proof (and whose amount the older proof would not claim).
   */
  async function claimLatest() {
    if (!proof.data) return;
    let latest = proof.data;
    try {
      const onChain = Number((await onChainEpoch.refetch({ throwOnError: true })).data ?? 0n);
      // Every wallet ever paid stays in later epochs, so the newer epoch has this wallet's proof too.
      if (onChain !== latest.epoch) latest = await contributorApi.proof(publicApi, onChain, address);
    } catch (error) {
      setStatus({ step: 'failed', reason: lowerFirst(describeWalletError(error, { chainId })) });
      return;
    }
    const fresh = await holdings.refetch();
    const now = computeClaimable(latest, fresh.data?.[0] ?? claimedSoFar ?? 0n);
    if (now.amount === 0n) {
      setStatus({ step: 'nothing-left', epoch: latest.epoch });
      return;
    }
    setStatus({ step: 'wallet' });
    try {
      const hash = await writeContract({
        address: distributor,
        abi: distributorAbi,
        functionName: 'claim',
        args: [address, now.cumulative, latest.proof as `0x${string}`[]],
        chainId,
      });
      setStatus({ step: 'sent', hash });
      const receipt = await waitForTransactionReceipt(config, { hash, chainId });
      // "Claimed" shows with the figures that include the claim, not above the old "Claimable now". A failed
      // read leaves the old figures and the outcome still shows; the read's error says why they are old.
      if (receipt.status === 'success') await holdings.refetch();
      setStatus(
        receipt.status === 'success'
          ? { step: 'claimed', amount: now.amount }
          : { step: 'failed', reason: 'the transaction was reverted on chain.' },
      );
    } catch (error) {
      const words = describeWalletError(error, { epoch: latest.epoch, chainId });
      setStatus(
        words === nothingLeftToClaimMessage(latest.epoch)
          ? { step: 'nothing-left', epoch: latest.epoch }
          : { step: 'failed', reason: lowerFirst(words) },
      );
    } finally {
      // Not awaited: the figures refresh on their own, and the button is ready again as soon as the outcome shows.
      void holdings.refetch();
    }
  }

  const readError = onChainEpoch.error ?? holdings.error;
  return (
    <div className="space-y-3">
      {readError && <QueryError error={new Error(describeWalletError(readError, { chainId }))} />}
      <QueryError error={proof.error} />
      <Facts>
        <Fact term="Claimable now" testId="rewards-claimable" className="font-medium">
          {epoch === 0 ? format(0n) : claimable ? format(claimable.amount) : proof.data === null ? format(0n) : '…'}
        </Fact>
        <Fact term="From epochs" testId="rewards-claimable-epochs">
          {fromEpochs.length > 0 ? fromEpochs.map((e) => e.epoch).join(', ') : '—'}
        </Fact>
        <Fact term="Claimed so far" testId="rewards-claimed">
          {claimedSoFar === undefined ? '…' : format(claimedSoFar)}
        </Fact>
        <Fact term="Wallet balance" testId="rewards-balance">
          {balance === undefined ? '…' : format(balance)}
        </Fact>
        <Fact term="Epoch on chain" testId="rewards-chain-epoch">
          {epoch === undefined ? '…' : epoch === 0 ? 'none published yet' : epoch}
        </Fact>
      </Facts>
      {waiting.length > 0 && (
        <p className="text-sm text-stone-600" data-testid="rewards-unpublished">
          Epoch {waiting.join(', ')} {waiting.length === 1 ? 'is' : 'are'} closed but not published on chain yet: it can
          be claimed once the operator publishes it.
        </p>
      )}
      <Button data-testid="claim-button" disabled={busy || !proof.data} onClick={() => void claim()}>
        Claim
      </Button>
      <ClaimStatusLine status={status} format={format} />
    </div>
  );
}

function ClaimStatusLine({ status, format }: { status: ClaimStatus; format: (amount: bigint) => string }) {
  const words = {
    idle: null,
    wallet: 'Waiting for your wallet…',
    sent: 'Transaction sent, waiting for confirmation…',
    claimed: status.step === 'claimed' ? `Claimed ${format(status.amount)}.` : null,
    'nothing-left': status.step === 'nothing-left' ? nothingLeftToClaimMessage(status.epoch) : null,
    failed: status.step === 'failed' ? `The claim failed: ${status.reason}` : null,
  }[status.step];
  if (!words) return null;
  const tone = status.step === 'failed' ? 'text-red-800' : status.step === 'claimed' ? 'text-emerald-700' : '';
  return (
    <p role="status" data-testid="claim-status" data-step={status.step} className={`text-sm ${tone}`}>
      {words}
    </p>
  );
}

/** "You declined…" reads "The claim failed: you declined…" after the colon; acronyms (ETH, GLR) stay as they are. */
function lowerFirst(sentence: string): string {
  return /^[A-Z][a-z]/.test(sentence) ? sentence[0]?.toLowerCase() + sentence.slice(1) : sentence;
}
