import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { cleanup } from '@testing-library/react';
import type { Abi, Address, Hex } from 'viem';
import { contractArtifact } from '../../../contracts/compile';
import type { TestChain } from '../../../contracts/test-chain';
import { type ApiStandIn, startApiStandIn } from './api-stand-in';

interface WalletRequest {
  method: string;
  params?: unknown[];
}

/** Puts an EIP-1193 browser wallet on the page that answers every request with `answer` (a throw rejects it). */
export function installBrowserWallet(answer: (request: WalletRequest) => unknown): void {
  (window as { ethereum?: unknown }).ethereum = {
    request: async (request: WalletRequest) => answer(request),
    on: () => undefined,
    removeListener: () => undefined,
  };
}

/** Undoes what a wallet page test leaves behind: the rendered page, both storages and the browser wallet. */
export function resetWalletPage(): void {
  cleanup();
  sessionStorage.clear();
  localStorage.clear();
  delete (window as { ethereum?: unknown }).ethereum;
}

export interface RewardContracts {
  operator: Address;
  token: Address;
  distributor: Address;
  /** The full compiled ABIs: the console's fragments hold only what it calls. */
  tokenAbi: Abi;
  distributorAbi: Abi;
}

export type EpochTree = StandardMerkleTree<[string, string]>;

/** Deploys the compiled reward token and distributor on `chain`, both owned by `operator`. */
export async function deployRewards(chain: TestChain, operator: Address): Promise<RewardContracts> {
  const token = await chain.deploy('RewardToken', ['Gleaner Reward', 'GLR', operator]);
  const distributor = await chain.deploy('CumulativeMerkleDistributor', [token, operator]);
  const tokenAbi = (await contractArtifact('RewardToken')).abi as Abi;
  const distributorAbi = (await contractArtifact('CumulativeMerkleDistributor')).abi as Abi;
  return { operator, token, distributor, tokenAbi, distributorAbi };
}

/** What the operator does per epoch: mints `mint` to the distributor and sets the root of `entries` (cumulative amounts). */
export async function publishEpoch(
  chain: TestChain,
  rewards: RewardContracts,
  epoch: number,
  entries: [Address, bigint][],
  mint: bigint,
): Promise<EpochTree> {
  const tree = StandardMerkleTree.of(
    entries.map(([account, amount]) => [account, amount.toString()] as [string, string]),
    ['address', 'uint256'],
  );
  const send = { account: rewards.operator, chain: null } as const;
  await chain.mined(
    await chain.walletClient.writeContract({
      ...send,
      address: rewards.token,
      abi: rewards.tokenAbi,
      functionName: 'mint',
      args: [rewards.distributor, mint],
    }),
  );
  await chain.mined(
    await chain.walletClient.writeContract({
      ...send,
      address: rewards.distributor,
      abi: rewards.distributorAbi,
      functionName: 'setEpoch',
      args: [BigInt(epoch), tree.root, `bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52z${epoch}`],
    }),
  );
  return tree;
}

/**
 * A browser wallet for `wallet` that forwards everything to anvil (whose dev accounts are unlocked), as the
 * end-to-end test's injected provider does. `beforeSend` sees each transaction first; a throw declines it.
 */
export function installChainWallet(
  chain: TestChain,
  wallet: Address,
  beforeSend: (transaction: unknown) => void,
): void {
  installBrowserWallet(({ method, params }) => {
    if (method === 'eth_requestAccounts' || method === 'eth_accounts') return [wallet];
    if (method === 'eth_sendTransaction') beforeSend(params?.[0]);
    return chain.publicClient.request({ method, params } as never);
  });
}

/**
 * The API the Rewards page reads: the chain and its contracts, the wallet's `overview`, no points history,
 * and the proof of any account in any tree of `trees` (looked up at request time, so later epochs count).
 * The page reads the chain at `rpcUrl`: anvil itself unless a test puts a relay in between.
 */
export function startRewardsApi(
  chain: TestChain,
  rewards: RewardContracts,
  overview: unknown,
  trees: ReadonlyMap<number, EpochTree>,
  rpcUrl = chain.anvil.rpcUrl,
): Promise<ApiStandIn> {
  const { token, distributor } = rewards;
  const contracts = { token, distributor, registry: token, tokenSymbol: 'GLR', tokenDecimals: 18 };
  return startApiStandIn(({ path }) => {
    if (path === '/v1/chain') {
      return { status: 200, body: { chainId: 31_337, rpcUrl, local: true, contracts } };
    }
    if (path === '/v1/wallet') return { status: 200, body: overview };
    if (path.startsWith('/v1/wallet/points-by-day')) return { status: 200, body: { days: [] } };
    if (path.startsWith('/v1/wallet/ledger')) return { status: 200, body: { entries: [], nextCursor: null } };
    const proofPath = /^\/v1\/epochs\/(\d+)\/proofs\/(0x[0-9a-fA-F]{40})$/.exec(path);
    const epoch = Number(proofPath?.[1]);
    const tree = trees.get(epoch);
    for (const [index, [account, amount]] of tree?.entries() ?? []) {
      if (account.toLowerCase() !== proofPath?.[2]?.toLowerCase()) continue;
      const proof = tree?.getProof(index) as Hex[];
      return { status: 200, body: { epoch, root: tree?.root, account, cumulativeAmount: amount, proof } };
    }
    return { status: 404, body: { code: 'not_found', message: `No ${path} here.` } };
  });
}
