import { BaseError } from '@protocol/errors';
import {
  type Address,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hash,
  type Hex,
  http,
  isAddressEqual,
  type PublicClient,
  BaseError as ViemError,
  zeroAddress,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { ChainContracts, OperatorKey } from './chain-settings';
import { shownRpcUrl } from './chain-settings';
import { distributorAbi, registryAbi, rewardTokenAbi } from './reward-abis';

/** Where the operator's transactions go, and with which key. */
export interface OperatorChainSettings {
  rpcUrl: string;
  chainId: number;
  operatorKey: OperatorKey;
  contracts: ChainContracts;
}

export interface PublishEpochInput {
  epoch: number;
  root: Hex;
  /** The epoch file's content id (CIDv1), stored on chain beside the root. */
  contentId: string;
  /**
   * Σ cumulative over the epoch file's wallets: everything ever owed through this epoch. The distributor must
   * have received that much in total; what is missing (normally this epoch's amounts) is minted to it.
   */
  cumulativeTotal: bigint;
}

export interface PublishEpochResult {
  /** The setEpoch transaction (found in the logs when the epoch was published before). */
  tx: Hash;
  alreadyPublished: boolean;
  /** Tokens minted to the distributor now (0 when it was already funded). */
  minted: bigint;
}

export interface CommitDatasetInput {
  /** The dataset's UUID; the registry keys it by its 16 bytes. */
  datasetId: string;
  root: Hex;
  rowCount: number;
  /** SHA-256 of the dataset card, 64 hex digits (with or without 0x). */
  cardSha256: string;
}

export interface CommitDatasetResult {
  tx: Hash;
  alreadyCommitted: boolean;
}

/** A dataset UUID as the registry's bytes16 key. */
export function datasetKey(datasetId: string): Hex {
  const hex = datasetId.replaceAll('-', '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new BaseError('bad_request', `${datasetId} is not a dataset id (a UUID)`);
  return `0x${hex}`;
}

/**
 * The operator's side of the reward chain: publish epoch roots and commit dataset roots, each idempotent so a
 * command cut short can simply be run again. `connect` checks the chain, the contracts and the key first.
 */
export async function connectOperatorChain(settings: OperatorChainSettings) {
  const { contracts } = settings;
  const where = shownRpcUrl(settings.rpcUrl);
  const account = privateKeyToAccount(settings.operatorKey.privateKey);
  const chain = defineChain({
    id: settings.chainId,
    name: `Gleaner reward chain ${settings.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [settings.rpcUrl] } },
  });
  const transport = http(settings.rpcUrl, { retryCount: 1 });
  const publicClient = createPublicClient({ chain, transport, pollingInterval: 100 });
  const walletClient = createWalletClient({ chain, transport, account });

  let chainId: number;
  try {
    chainId = await publicClient.getChainId();
  } catch {
    throw new BaseError(
      'server_unreachable',
      `No chain answered at ${where}. The local chain runs inside the server (npm start): is it running?`,
    );
  }
  if (chainId !== settings.chainId) {
    throw new BaseError('conflict', `The chain at ${where} has id ${chainId}, not ${settings.chainId}.`);
  }
  await checkContracts(publicClient, contracts, account.address, chainId).catch((error: unknown) => {
    throw chainError(error, 'Checking the reward contracts');
  });

  async function mined(hash: Hash, what: string): Promise<Hash> {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new BaseError('conflict', `${what} (transaction ${hash}) reverted.`);
    return hash;
  }

  /** Tokens minted to the distributor so far, from the token's Transfer events out of the zero address. */
  async function mintedToDistributor(): Promise<bigint> {
    const logs = await publicClient.getContractEvents({
      address: contracts.token,
      abi: rewardTokenAbi,
      eventName: 'Transfer',
      args: { from: zeroAddress, to: contracts.distributor },
      fromBlock: 0n,
      strict: true,
    });
    return logs.reduce((sum, log) => sum + log.args.value, 0n);
  }

  async function epochSetTx(epoch: number): Promise<Hash> {
    const [log] = await publicClient.getContractEvents({
      address: contracts.distributor,
      abi: distributorAbi,
      eventName: 'EpochSet',
      args: { epoch: BigInt(epoch) },
      fromBlock: 0n,
    });
    if (!log?.transactionHash) throw new BaseError('not_found', `No EpochSet event for epoch ${epoch} on chain.`);
    return log.transactionHash;
  }

  return {
    operator: account.address as Address,

    /**
     * Funds the distributor and sets the epoch's root. Run again after any failure: an epoch already set with
     * this root is reported, not set twice; one set with another root is refused; the funding counts what was
     * minted before, so a run cut between the mint and setEpoch never mints twice.
     */
    publishEpoch: (input: PublishEpochInput): Promise<PublishEpochResult> =>
      publishEpoch(input).catch((error: unknown) => {
        throw chainError(error, `Publishing epoch ${input.epoch}`);
      }),

    /** Commits a dataset's root once; the same root again is reported, a different one refused. */
    commitDatasetRoot: (input: CommitDatasetInput): Promise<CommitDatasetResult> =>
      commitDatasetRoot(input).catch((error: unknown) => {
        throw chainError(error, `Committing dataset ${input.datasetId}`);
      }),
  };

  async function publishEpoch(input: PublishEpochInput): Promise<PublishEpochResult> {
    const current = await publicClient.readContract({
      address: contracts.distributor,
      abi: distributorAbi,
      functionName: 'currentEpoch',
    });
    if (current >= BigInt(input.epoch)) {
      const published = await publicClient
        .readContract({
          address: contracts.distributor,
          abi: distributorAbi,
          functionName: 'epochOf',
          args: [BigInt(input.epoch)],
        })
        .catch(() => undefined);
      if (published?.root.toLowerCase() === input.root.toLowerCase()) {
        return { tx: await epochSetTx(input.epoch), alreadyPublished: true, minted: 0n };
      }
      throw new BaseError(
        'conflict',
        published
          ? `Epoch ${input.epoch} is on chain with root ${published.root}, not ${input.root}; a published root cannot change.`
          : `The distributor is at epoch ${current}, past ${input.epoch}, which was never published there; epochs only go forward.`,
      );
    }

    const missing = input.cumulativeTotal - (await mintedToDistributor());
    const minted = missing > 0n ? missing : 0n;
    if (minted > 0n) {
      await mined(
        await walletClient.writeContract({
          address: contracts.token,
          abi: rewardTokenAbi,
          functionName: 'mint',
          args: [contracts.distributor, minted],
        }),
        `Minting epoch ${input.epoch}'s tokens`,
      );
    }
    const tx = await mined(
      await walletClient.writeContract({
        address: contracts.distributor,
        abi: distributorAbi,
        functionName: 'setEpoch',
        args: [BigInt(input.epoch), input.root, input.contentId],
      }),
      `Setting epoch ${input.epoch}'s root`,
    );
    return { tx, alreadyPublished: false, minted };
  }

  async function commitDatasetRoot(input: CommitDatasetInput): Promise<CommitDatasetResult> {
    const key = datasetKey(input.datasetId);
    const cardSha256 = `0x${input.cardSha256.replace(/^0x/, '').toLowerCase()}` as Hex;
    if (!/^0x[0-9a-f]{64}$/.test(cardSha256)) {
      throw new BaseError('bad_request', 'The card SHA-256 must be 64 hex digits.');
    }
    const registered = await publicClient.readContract({
      address: contracts.registry,
      abi: registryAbi,
      functionName: 'isRegistered',
      args: [key],
    });
    if (registered) {
      const committed = await publicClient.readContract({
        address: contracts.registry,
        abi: registryAbi,
        functionName: 'datasetOf',
        args: [key],
      });
      if (committed.merkleRoot.toLowerCase() !== input.root.toLowerCase()) {
        throw new BaseError(
          'conflict',
          `Dataset ${input.datasetId} is committed with root ${committed.merkleRoot}, not ${input.root}; a committed root is final.`,
        );
      }
      const [log] = await publicClient.getContractEvents({
        address: contracts.registry,
        abi: registryAbi,
        eventName: 'DatasetRegistered',
        args: { datasetId: key },
        fromBlock: 0n,
      });
      if (!log?.transactionHash) throw new BaseError('not_found', `No DatasetRegistered event for ${input.datasetId}.`);
      return { tx: log.transactionHash, alreadyCommitted: true };
    }
    const tx = await mined(
      await walletClient.writeContract({
        address: contracts.registry,
        abi: registryAbi,
        functionName: 'register',
        args: [key, input.root, BigInt(input.rowCount), cardSha256],
      }),
      `Committing dataset ${input.datasetId}`,
    );
    return { tx, alreadyCommitted: false };
  }
}

/** Every contract has code and is owned by the operator, or the error says which is not. */
async function checkContracts(
  publicClient: PublicClient,
  contracts: ChainContracts,
  operator: Address,
  chainId: number,
): Promise<void> {
  for (const [name, address] of Object.entries(contracts)) {
    const code = await publicClient.getCode({ address });
    if (!code || code === '0x') {
      throw new BaseError('conflict', `No contract at the ${name} address ${address} on chain ${chainId}.`);
    }
  }
  for (const [name, address, abi] of [
    ['distributor', contracts.distributor, distributorAbi],
    ['token', contracts.token, rewardTokenAbi],
    ['registry', contracts.registry, registryAbi],
  ] as const) {
    const owner = await publicClient.readContract({ address, abi, functionName: 'owner' });
    if (!isAddressEqual(owner, operator)) {
      throw new BaseError(
        'conflict',
        `The operator key's account ${operator} does not own the ${name} (${address}); its owner is ${owner}. Set GLEANER_OPERATOR_KEY to the owner's key.`,
      );
    }
  }
}

/**
 * A chain failure in words. viem's full messages list the request URL, which may carry the provider's key, so
 * only its short message is passed on, never the error itself as a cause.
 */
function chainError(error: unknown, what: string): BaseError {
  if (error instanceof BaseError) return error;
  const reason = error instanceof ViemError ? error.shortMessage : 'an unexpected error';
  return new BaseError('server_rejected', `${what} failed on chain: ${reason}`);
}

export type OperatorChain = Awaited<ReturnType<typeof connectOperatorChain>>;
