import {
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  getAddress,
  type Hash,
  http,
  type PublicClient,
  type TransactionReceipt,
  type WalletClient,
} from 'viem';
import { foundry } from 'viem/chains';
import { type Anvil, startAnvil } from './anvil';
import { contractArtifact } from './compile';

/** A fresh anvil with viem clients and its unlocked dev accounts, for contract tests. */
export interface TestChain {
  anvil: Anvil;
  publicClient: PublicClient;
  walletClient: WalletClient;
  /** anvil's dev accounts; the first one deploys and owns the contracts. */
  accounts: readonly Address[];
  /** Deploys a compiled contracts/*.sol contract from `from` and returns its address. */
  deploy(contractName: string, args: readonly unknown[], from?: Address): Promise<Address>;
  /** Waits for a transaction and fails unless it succeeded. */
  mined(hash: Hash): Promise<TransactionReceipt>;
}

/** Starts anvil and connects viem to it; call `anvil.stop()` in afterAll. */
export async function startTestChain(): Promise<TestChain> {
  const anvil = await startAnvil({ chainId: foundry.id });
  const transport = http(anvil.rpcUrl);
  const publicClient = createPublicClient({ chain: foundry, transport, pollingInterval: 50 });
  const walletClient = createWalletClient({ chain: foundry, transport });
  const accounts = await walletClient.getAddresses();
  const operator = accounts[0];
  if (!operator) throw new Error('anvil has no dev accounts');

  async function mined(hash: Hash): Promise<TransactionReceipt> {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
    return receipt;
  }

  async function deploy(contractName: string, args: readonly unknown[], from: Address = operator as Address) {
    const { abi, bytecode } = await contractArtifact(contractName);
    const hash = await walletClient.deployContract({ abi, bytecode, args, account: from, chain: foundry });
    const { contractAddress } = await mined(hash);
    if (!contractAddress) throw new Error(`${contractName} was not deployed`);
    // Receipts give addresses in lower case; events and errors decode them checksummed.
    return getAddress(contractAddress);
  }

  return { anvil, publicClient, walletClient, accounts, deploy, mined };
}

/** The custom error a call reverted with, decoded by viem from the contract's ABI. */
export async function revertOf(call: Promise<unknown>): Promise<{ errorName: string; args: readonly unknown[] }> {
  try {
    await call;
  } catch (error) {
    const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null;
    if (reverted instanceof ContractFunctionRevertedError && reverted.data) {
      return { errorName: reverted.data.errorName, args: reverted.data.args ?? [] };
    }
    throw error;
  }
  throw new Error('the call did not revert');
}
