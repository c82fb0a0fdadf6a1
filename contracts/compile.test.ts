import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { artifactsDir, compileContracts, compileSolidity, contractArtifact } from './compile';

const header = '// SPDX-License-Identifier: MIT\npragma solidity 0.8.37;\n';

describe('compileSolidity', () => {
  it("fails with the compiler's own message and location", () => {
    const broken = { 'Broken.sol': { content: `${header}contract Broken { function f() public { undefinedName; } }` } };
    expect(() => compileSolidity(broken)).toThrow(/Undeclared identifier.*Broken\.sol:3:41/s);
  });

  it('fails on a warning in our own sources', () => {
    const unused = {
      'Unused.sol': { content: `${header}contract Unused { function f() public pure { uint256 x; } }` },
    };
    expect(() => compileSolidity(unused)).toThrow(/Warning: Unused local variable/);
  });

  it('resolves OpenZeppelin from node_modules and refuses any other import', () => {
    const imports = (target: string) => ({
      'Importer.sol': { content: `${header}import "${target}";\ncontract C {}` },
    });
    expect(compileSolidity(imports('@openzeppelin/contracts/access/Ownable.sol')).has('C')).toBe(true);
    expect(() => compileSolidity(imports('/etc/passwd'))).toThrow(/Only @openzeppelin\/contracts/);
    // A path that climbs out of the package is refused even though it starts like one of its files.
    expect(() => compileSolidity(imports('@openzeppelin/contracts/../../../package.json'))).toThrow(
      /package\.json is not a file of @openzeppelin\/contracts/,
    );
    expect(() => compileSolidity(imports('@openzeppelin/contracts/NoSuchFile.sol'))).toThrow(
      /not a file of @openzeppelin\/contracts/,
    );
  });
});

describe('compileContracts', () => {
  it('writes every deployable contract of contracts/*.sol to artifacts/ with its abi and bytecode', async () => {
    const artifacts = await compileContracts();

    expect([...artifacts.keys()].sort()).toEqual(['CumulativeMerkleDistributor', 'DatasetRootRegistry', 'RewardToken']);
    for (const artifact of artifacts.values()) {
      const onDisk = path.join(artifactsDir, `${artifact.contractName}.json`);
      expect(existsSync(onDisk)).toBe(true);
      expect(JSON.parse(readFileSync(onDisk, 'utf8'))).toEqual(artifact);
      expect(artifact.bytecode).toMatch(/^0x(?:[0-9a-f]{2})+$/);
    }
    const manifest = JSON.parse(readFileSync(path.join(artifactsDir, 'manifest.json'), 'utf8'));
    expect(manifest.settings).toMatchObject({ evmVersion: 'cancun', optimizer: { enabled: true, runs: 200 } });
    await expect(contractArtifact('NoSuchContract')).rejects.toThrow(/No contract named NoSuchContract/);
  });

  it('reads built artifacts without loading the compiler (130 MB and 1.4 s that every server start paid)', async () => {
    await compileContracts();
    // A fresh process, as a server starting with the artifacts already built: it reads one, then says whether
    // solc's compiler (soljson.js) was loaded into it.
    const script = `
      const { contractArtifact } = await import(${JSON.stringify(new URL('./compile.ts', import.meta.url).href)});
      await contractArtifact('RewardToken');
      const { createRequire } = await import('node:module');
      const loaded = Object.keys(createRequire(import.meta.url).cache).filter((file) => file.endsWith('soljson.js'));
      console.log(JSON.stringify(loaded));`;
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ]);
    expect(JSON.parse(stdout.trim())).toEqual([]);
  });
});
