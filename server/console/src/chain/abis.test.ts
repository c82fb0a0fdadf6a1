// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { contractArtifact } from '../../../../contracts/compile';
import { distributorAbi, rewardTokenAbi } from './abis';

/** Compiling is solc-js in WASM: a few seconds the first time, then the cached artifacts. */
const compileTimeout = 120_000;

describe('the console’s ABI fragments', () => {
  it.each([
    ['CumulativeMerkleDistributor', distributorAbi],
    ['RewardToken', rewardTokenAbi],
  ] as const)(
    'match the compiled %s item for item',
    async (contractName, fragments) => {
      const { abi } = await contractArtifact(contractName);
      for (const fragment of fragments) {
        const compiled = abi.find(
          (item) => item.type === fragment.type && 'name' in item && item.name === fragment.name,
        );
        expect(compiled, `${contractName} has no ${fragment.type} ${fragment.name}`).toBeDefined();
        expect(fragment).toEqual(compiled);
      }
    },
    compileTimeout,
  );
});
