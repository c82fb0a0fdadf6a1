import { resolve } from 'node:path';
import { BaseError } from '@protocol/errors';
import { loadConfig } from '../config';
import { loadChainSettings } from './chain-settings';
import { localChainFile, readLocalChainFile } from './local-chain';
import type { OperatorChainSettings } from './operator-chain';

/**
 * Where the operator CLI sends transactions: the chain named by CHAIN_RPC_URL and the contract addresses, or,
 * with no CHAIN_RPC_URL, the local chain the running server started (found through its contracts file).
 */
export async function operatorChainSettings(env: NodeJS.ProcessEnv): Promise<OperatorChainSettings> {
  const config = loadConfig(env);
  const settings = loadChainSettings(env, config.chainId);
  if (settings.kind === 'off') {
    throw new BaseError('conflict', 'GLEANER_CHAIN is off: there is no reward chain to send this to.');
  }
  if (settings.kind === 'external') {
    const missing = [
      ...(settings.contracts
        ? []
        : ['GLEANER_TOKEN_ADDRESS', 'GLEANER_DISTRIBUTOR_ADDRESS', 'GLEANER_REGISTRY_ADDRESS']),
      ...(settings.operatorKey ? [] : ['GLEANER_OPERATOR_KEY']),
    ];
    if (!settings.contracts || !settings.operatorKey) {
      throw new BaseError('bad_request', `CHAIN_RPC_URL is set, so this also needs ${missing.join(', ')}.`);
    }
    return {
      rpcUrl: settings.rpcUrl,
      chainId: settings.chainId,
      operatorKey: settings.operatorKey,
      contracts: settings.contracts,
    };
  }
  const local = await readLocalChainFile(config.dataDir);
  if (!local) {
    throw new BaseError(
      'not_found',
      `No local chain in ${localChainFile(config.dataDir)}: start the server (npm start) with the same GLEANER_DATA_DIR (now ${resolve(config.dataDir)}), or set CHAIN_RPC_URL and the contract addresses.`,
    );
  }
  return {
    rpcUrl: local.rpcUrl,
    chainId: local.chainId,
    operatorKey: settings.operatorKey,
    contracts: { token: local.token, distributor: local.distributor, registry: local.registry },
  };
}
