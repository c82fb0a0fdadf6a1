import type { ChainInfo } from '@protocol/chain';
import { BaseError } from '@protocol/errors';
import { createPublicClient, http, BaseError as ViemError } from 'viem';
import { type ChainSettings, shownRpcUrl } from './chain-settings';
import { startLocalChain } from './local-chain';
import { rewardTokenAbi } from './reward-abis';

/** The reward chain the server runs with. */
export interface RunningChain {
  /** What `GET /v1/chain` answers. */
  info: ChainInfo;
  /** JSON-RPC for the server's own calls (wallet signatures); undefined with no chain. */
  rpcUrl: string | undefined;
  /** One line for people: which chain and contracts the console uses. */
  summary: string;
  stop(): Promise<void>;
}

/**
 * Starts the local chain, or checks the external one (its chain id and contracts) so a wrong setting stops
 * the server at boot instead of failing each claim in the console.
 */
export async function startChain(settings: ChainSettings, dataDir: string): Promise<RunningChain> {
  if (settings.kind === 'off') {
    return {
      info: { chainId: settings.chainId, rpcUrl: null, local: false, contracts: null },
      rpcUrl: undefined,
      summary: 'Reward chain: off (GLEANER_CHAIN=off); epochs are published as files only.',
      stop: async () => {},
    };
  }
  if (settings.kind === 'local') {
    const chain = await startLocalChain({ dataDir, ...settings });
    const { token, distributor, registry } = chain.contracts;
    return {
      info: chain.info,
      rpcUrl: chain.rpcUrl,
      summary:
        `Reward chain: local anvil, chain ${settings.chainId} at ${chain.info.rpcUrl}` +
        `${chain.deployed ? ' (contracts deployed now)' : ''}; token ${token}, distributor ${distributor}, registry ${registry}.`,
      stop: chain.stop,
    };
  }

  const where = shownRpcUrl(settings.rpcUrl);
  const client = createPublicClient({ transport: http(settings.rpcUrl, { retryCount: 1 }) });
  try {
    const chainId = await client.getChainId();
    if (chainId !== settings.chainId) {
      throw new BaseError(
        'conflict',
        `CHAIN_RPC_URL (${where}) is chain ${chainId}, but GLEANER_CHAIN_ID is ${settings.chainId}: devices sign for GLEANER_CHAIN_ID, so set it to the chain's id.`,
      );
    }
    let contracts: ChainInfo['contracts'] = null;
    if (settings.contracts) {
      for (const [name, address] of Object.entries(settings.contracts)) {
        const code = await client.getCode({ address });
        if (!code || code === '0x') {
          throw new BaseError(
            'conflict',
            `No contract at the ${name} address ${address} on chain ${chainId} (${where}).`,
          );
        }
      }
      const token = settings.contracts.token;
      const [tokenSymbol, tokenDecimals] = await Promise.all([
        client.readContract({ address: token, abi: rewardTokenAbi, functionName: 'symbol' }),
        client.readContract({ address: token, abi: rewardTokenAbi, functionName: 'decimals' }),
      ]);
      contracts = { ...settings.contracts, tokenSymbol, tokenDecimals };
    }
    const { token, distributor, registry } = settings.contracts ?? {};
    return {
      info: { chainId, rpcUrl: settings.publicRpcUrl, local: false, contracts },
      rpcUrl: settings.rpcUrl,
      summary: contracts
        ? `Reward chain: chain ${chainId} at ${where}; token ${token}, distributor ${distributor}, registry ${registry}.`
        : `Reward chain: chain ${chainId} at ${where} for wallet signatures only (no contract addresses set); epochs are published as files only.`,
      stop: async () => {},
    };
  } catch (error) {
    if (error instanceof BaseError) throw error;
    // viem's long message holds the URL, which may carry a provider key: only its short message goes on.
    const reason = error instanceof ViemError ? error.shortMessage : String(error);
    throw new BaseError('server_unreachable', `The chain at CHAIN_RPC_URL (${where}) did not answer: ${reason}`);
  }
}
