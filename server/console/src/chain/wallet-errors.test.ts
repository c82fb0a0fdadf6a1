import { BaseError as GleanerError } from '@protocol/errors';
import {
  ChainMismatchError,
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  encodeErrorResult,
  InsufficientFundsError,
  UserRejectedRequestError,
  BaseError as ViemError,
} from 'viem';
import { mainnet } from 'viem/chains';
import { describe, expect, it } from 'vitest';
import { ProviderNotFoundError, SwitchChainNotSupportedError } from 'wagmi';
import { distributorAbi } from './abis';
import { describeWalletError, noWalletMessage } from './wallet-errors';

const account = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const claimArgs = [account, 5n, []];

/** A claim reverted with `errorName`, wrapped the way viem's writeContract wraps it. */
function claimReverted(errorName: 'NothingToClaim' | 'InvalidProof') {
  const data =
    errorName === 'NothingToClaim'
      ? encodeErrorResult({ abi: distributorAbi, errorName, args: [account, 5n, 5n] })
      : encodeErrorResult({ abi: distributorAbi, errorName });
  const reverted = new ContractFunctionRevertedError({ abi: distributorAbi, data, functionName: 'claim' });
  return new ContractFunctionExecutionError(reverted, { abi: distributorAbi, functionName: 'claim', args: claimArgs });
}

describe('wallet errors in words', () => {
  it('says no wallet is installed instead of the connector’s error', () => {
    expect(describeWalletError(new ProviderNotFoundError())).toBe(noWalletMessage);
  });

  it('says the person declined, however deep the wallet’s rejection is wrapped', () => {
    const rejected = new UserRejectedRequestError(new Error('User denied transaction signature.'));
    expect(describeWalletError(rejected)).toMatch(/^You declined the request in your wallet/);
    const wrapped = new ContractFunctionExecutionError(rejected, {
      abi: distributorAbi,
      functionName: 'claim',
      args: claimArgs,
    });
    expect(describeWalletError(wrapped)).toMatch(/^You declined/);
    expect(describeWalletError({ code: 4001, message: 'MetaMask Tx Signature: User denied' })).toMatch(/^You declined/);
  });

  it('names the chain to switch to when the wallet is on another one', () => {
    const mismatch = new ChainMismatchError({ chain: { ...mainnet, id: 31337 }, currentChainId: 1 });
    expect(describeWalletError(mismatch, { chainId: 31337 })).toBe(
      'Your wallet is on another network. Switch it to the Gleaner reward chain (chain id 31337) and try again.',
    );
    expect(describeWalletError(new SwitchChainNotSupportedError({ connector: { name: 'Injected' } } as never))).toMatch(
      /switch networks from this page/,
    );
  });

  it('explains a NothingToClaim revert with the epoch already claimed, and an InvalidProof revert', () => {
    expect(describeWalletError(claimReverted('NothingToClaim'), { epoch: 3 })).toBe(
      'Nothing left to claim: you have already claimed everything up to epoch 3.',
    );
    expect(describeWalletError(claimReverted('InvalidProof'))).toMatch(/did not accept the proof/);
  });

  it('says the fee cannot be paid, and keeps the Gleaner API’s own words', () => {
    expect(describeWalletError(new InsufficientFundsError())).toMatch(/enough of the chain’s own currency/);
    const api = new GleanerError('link_code_expired', 'This link code has expired: show a new one in the extension.');
    expect(describeWalletError(api)).toBe('This link code has expired: show a new one in the extension.');
  });

  it('falls back to the library’s one-line short message, never its multi-line dump', () => {
    const unknown = new ContractFunctionExecutionError(new ViemError('boom'), {
      abi: distributorAbi,
      functionName: 'claim',
      args: claimArgs,
    });
    const words = describeWalletError(unknown);
    expect(words).not.toContain('\n');
    expect(words).not.toMatch(/Version: viem/);
  });
});
