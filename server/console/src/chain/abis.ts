/**
 * The few fragments of the reward contracts' ABIs the console calls, typed `as const` so viem and wagmi
 * infer argument and result types. Written by hand because the compiled artifacts are generated and
 * git-ignored; abis.test.ts checks every fragment against contracts/compile.ts so they cannot drift.
 */

/** contracts/CumulativeMerkleDistributor.sol: claim, what was claimed, and the errors a claim can revert with. */
export const distributorAbi = [
  {
    type: 'function',
    name: 'claim',
    stateMutability: 'nonpayable',
    inputs: [
      { name: 'account', type: 'address', internalType: 'address' },
      { name: 'cumulativeAmount', type: 'uint256', internalType: 'uint256' },
      { name: 'proof', type: 'bytes32[]', internalType: 'bytes32[]' },
    ],
    outputs: [],
  },
  {
    type: 'function',
    name: 'claimed',
    stateMutability: 'view',
    inputs: [{ name: 'account', type: 'address', internalType: 'address' }],
    outputs: [{ name: 'amount', type: 'uint256', internalType: 'uint256' }],
  },
  {
    type: 'function',
    name: 'currentEpoch',
    stateMutability: 'view',
    inputs: [],
    outputs: [{ name: '', type: 'uint256', internalType: 'uint256' }],
  },
  { type: 'error', name: 'InvalidProof', inputs: [] },
  {
    type: 'error',
    name: 'NothingToClaim',
    inputs: [
      { name: 'account', type: 'address', internalType: 'address' },
      { name: 'cumulativeAmount', type: 'uint256', internalType: 'uint256' },
      { name: 'alreadyClaimed', type: 'uint256', internalType: 'uint256' },
    ],
  },
] as const;

/** contracts/RewardToken.sol: the ERC-20 reads the console shows. */
export const rewardTokenAbi = [
  {
    type: 'function',
    name: 'balanceOf',
    stateMutability: 'view',
    inputs: [{ name: 'account', type: 'address', internalType: 'address' }],
    outputs: [{ name: '', type: 'uint256', internalType: 'uint256' }],
  },
  {
    type: 'function',
    name: 'decimals',
    stateMutability: 'view',
    inputs: [],
    outputs: [{ name: '', type: 'uint8', internalType: 'uint8' }],
  },
] as const;
