import { readFileSync } from 'node:fs';
import { type Address, encodeFunctionData, getAddress, type Hex, pad } from 'viem';
import { type ContractArtifact, compileSolidity } from '../compile';
import type { TestChain } from '../test-chain';

// Compiled here, not by compileContracts(): contracts/testing/ is outside the contracts/*.sol that compile.ts
// turns into artifacts/, so the app's deployment (server/src/chain/local-chain.ts) can never pick it up.
const sourceName = 'OwnerSmartWallet.sol';
let compiled: Map<string, ContractArtifact> | undefined;

function artifact(contractName: 'OwnerSmartWallet' | 'OwnerSmartWalletFactory'): ContractArtifact {
  compiled ??= compileSolidity({
    [sourceName]: { content: readFileSync(new URL(`./${sourceName}`, import.meta.url), 'utf8') },
  });
  const found = compiled.get(contractName);
  if (!found) throw new Error(`${sourceName} defines no ${contractName}`);
  return found;
}

async function deploy(chain: TestChain, contractName: Parameters<typeof artifact>[0], args: readonly unknown[]) {
  const { abi, bytecode } = artifact(contractName);
  const [from] = chain.accounts;
  if (!from) throw new Error('anvil has no dev accounts');
  const hash = await chain.walletClient.deployContract({ abi, bytecode, args, account: from, chain: null });
  const { contractAddress } = await chain.mined(hash);
  if (!contractAddress) throw new Error(`${contractName} was not deployed`);
  return getAddress(contractAddress);
}

/** Deploys a test-only ERC-1271 wallet whose valid signatures are `owner`'s; returns its address. */
export function deployOwnerSmartWallet(chain: TestChain, owner: Address): Promise<Address> {
  return deploy(chain, 'OwnerSmartWallet', [owner]);
}

/** A smart wallet of `owner` that is not deployed yet, and how its factory would deploy it (for EIP-6492). */
export interface CounterfactualWallet {
  address: Address;
  factory: Address;
  factoryData: Hex;
}

/** Deploys the wallet factory and predicts the address `owner`'s wallet will get, without deploying it. */
export async function counterfactualOwnerSmartWallet(
  chain: TestChain,
  owner: Address,
  salt: Hex = pad('0x01'),
): Promise<CounterfactualWallet> {
  const factory = await deploy(chain, 'OwnerSmartWalletFactory', []);
  const { abi } = artifact('OwnerSmartWalletFactory');
  const address = await chain.publicClient.readContract({
    address: factory,
    abi,
    functionName: 'addressOf',
    args: [owner, salt],
  });
  return {
    address: getAddress(address as Address),
    factory,
    factoryData: encodeFunctionData({ abi, functionName: 'deploy', args: [owner, salt] }),
  };
}
