import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Abi, Hex } from 'viem';

/** The EVM fork the contracts are compiled for; the local chain runs the same one (see anvil.ts). */
export const EVM_VERSION = 'cancun';

const contractsDir = path.dirname(fileURLToPath(import.meta.url));
/** Where the generated artifacts go (git-ignored; never edit them by hand). */
export const artifactsDir = path.join(contractsDir, 'artifacts');
const manifestPath = path.join(artifactsDir, 'manifest.json');

const require = createRequire(import.meta.url);

/**
 * The compiler, loaded when something is compiled: loading it costs ~130 MB of memory and ~1.4 s, which every
 * server process paid at start (the chain imports this file) even when the artifacts were already built.
 */
let solcModule: typeof import('solc') | undefined;
function solc(): typeof import('solc') {
  solcModule ??= require('solc') as typeof import('solc');
  return solcModule;
}
/** The compiler's version without loading it: the solc package ships exactly one compiler, its own version. */
const solcVersion = (require('solc/package.json') as { version: string }).version;
const openZeppelinPrefix = '@openzeppelin/contracts/';
const openZeppelinDir = path.dirname(require.resolve('@openzeppelin/contracts/package.json'));

// Pinned so the same sources always give the same bytecode, whatever solc's defaults become
// (0.8.37 would target osaka, which anvil's cancun chain cannot run).
const settings = {
  evmVersion: EVM_VERSION,
  optimizer: { enabled: true, runs: 200 },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
};

/** One compiled contract: what viem needs to deploy and call it. */
export interface ContractArtifact {
  contractName: string;
  /** The source file inside contracts/, e.g. `RewardToken.sol`. */
  sourceName: string;
  abi: Abi;
  bytecode: Hex;
}

interface Manifest {
  inputHash: string;
  compiler: string;
  settings: typeof settings;
  contracts: string[];
}

interface SolcOutput {
  errors?: { severity: 'error' | 'warning' | 'info'; formattedMessage: string; sourceLocation?: { file: string } }[];
  contracts?: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
}

let cached: Promise<Map<string, ContractArtifact>> | undefined;

/**
 * Every contract in contracts/*.sol, compiled once per process. Artifacts on disk are reused while the
 * sources, OpenZeppelin, the compiler and the settings are unchanged, so parallel test files compile once.
 */
export function compileContracts(): Promise<Map<string, ContractArtifact>> {
  cached ??= loadOrCompile().catch((error: unknown) => {
    cached = undefined;
    throw error;
  });
  return cached;
}

/** The artifact of one contract by name; throws when no contracts/*.sol defines it. */
export async function contractArtifact(contractName: string): Promise<ContractArtifact> {
  const artifact = (await compileContracts()).get(contractName);
  if (!artifact) throw new Error(`No contract named ${contractName} in ${contractsDir}/*.sol`);
  return artifact;
}

async function loadOrCompile(): Promise<Map<string, ContractArtifact>> {
  const sources = await readSources();
  const inputHash = hashInput(sources);
  return (await readArtifacts(inputHash)) ?? (await compileAndWrite(sources, inputHash));
}

async function readSources(): Promise<Record<string, { content: string }>> {
  const files = (await readdir(contractsDir)).filter((name) => name.endsWith('.sol')).sort();
  if (files.length === 0) throw new Error(`No Solidity sources in ${contractsDir}`);
  const sources: Record<string, { content: string }> = {};
  for (const file of files) sources[file] = { content: await readFile(path.join(contractsDir, file), 'utf8') };
  return sources;
}

// Imported OpenZeppelin files are not part of the input, so its version stands in for them.
function hashInput(sources: Record<string, { content: string }>): string {
  const openZeppelin = JSON.parse(readFileSync(path.join(openZeppelinDir, 'package.json'), 'utf8')).version;
  return createHash('sha256')
    .update(JSON.stringify({ compiler: solcVersion, openZeppelin, settings, sources }))
    .digest('hex');
}

async function readArtifacts(inputHash: string): Promise<Map<string, ContractArtifact> | undefined> {
  if (!existsSync(manifestPath)) return undefined;
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
  if (manifest.inputHash !== inputHash) return undefined;
  const artifacts = new Map<string, ContractArtifact>();
  for (const name of manifest.contracts) {
    const artifactPath = path.join(artifactsDir, `${name}.json`);
    if (!existsSync(artifactPath)) return undefined;
    artifacts.set(name, JSON.parse(await readFile(artifactPath, 'utf8')) as ContractArtifact);
  }
  return artifacts;
}

/** Compiles Solidity sources (name → content) with the pinned settings; throws the compiler's messages on failure. */
export function compileSolidity(sources: Record<string, { content: string }>): Map<string, ContractArtifact> {
  const input = { language: 'Solidity', sources, settings };
  const output = JSON.parse(solc().compile(JSON.stringify(input), { import: resolveImport })) as SolcOutput;
  // Warnings in our own sources fail too (they are usually bugs); OpenZeppelin's are not ours to fix.
  const errors = (output.errors ?? []).filter(
    (entry) =>
      entry.severity === 'error' ||
      (entry.severity === 'warning' && entry.sourceLocation !== undefined && entry.sourceLocation.file in sources),
  );
  if (errors.length > 0) {
    throw new Error(`Solidity compilation failed:\n${errors.map((entry) => entry.formattedMessage).join('\n')}`);
  }

  const artifacts = new Map<string, ContractArtifact>();
  for (const sourceName of Object.keys(sources)) {
    for (const [contractName, compiled] of Object.entries(output.contracts?.[sourceName] ?? {})) {
      // Interfaces and abstract contracts have no bytecode: nothing to deploy.
      if (compiled.evm.bytecode.object === '') continue;
      artifacts.set(contractName, {
        contractName,
        sourceName,
        abi: compiled.abi,
        bytecode: `0x${compiled.evm.bytecode.object}`,
      });
    }
  }
  return artifacts;
}

async function compileAndWrite(
  sources: Record<string, { content: string }>,
  inputHash: string,
): Promise<Map<string, ContractArtifact>> {
  const artifacts = compileSolidity(sources);
  await mkdir(artifactsDir, { recursive: true });
  for (const artifact of artifacts.values()) {
    await writeAtomically(path.join(artifactsDir, `${artifact.contractName}.json`), artifact);
  }
  // The manifest goes last: a reader that sees it finds every artifact it lists.
  const manifest: Manifest = { inputHash, compiler: solc().version(), settings, contracts: [...artifacts.keys()] };
  await writeAtomically(manifestPath, manifest);
  return artifacts;
}

// Several test workers may compile at once: each writes its own file and renames it into place.
async function writeAtomically(filePath: string, value: unknown): Promise<void> {
  const temporaryPath = `${filePath}.${process.pid}.tmp`;
  await writeFile(temporaryPath, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temporaryPath, filePath);
}

// Only OpenZeppelin and the sibling .sol files (which solc finds in the input itself) may be imported.
function resolveImport(importPath: string): { contents: string } | { error: string } {
  if (!importPath.startsWith(openZeppelinPrefix)) {
    return { error: `Only ${openZeppelinPrefix}… and contracts/*.sol can be imported, not ${importPath}` };
  }
  const filePath = path.resolve(openZeppelinDir, importPath.slice(openZeppelinPrefix.length));
  if (!filePath.startsWith(`${openZeppelinDir}${path.sep}`) || !existsSync(filePath)) {
    return { error: `${importPath} is not a file of @openzeppelin/contracts` };
  }
  return { contents: readFileSync(filePath, 'utf8') };
}

// `tsx contracts/compile.ts` compiles (or confirms the artifacts are current) and lists what it wrote.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const artifacts = await compileContracts();
  for (const artifact of artifacts.values()) {
    const bytes = (artifact.bytecode.length - 2) / 2;
    console.log(`${artifact.sourceName}:${artifact.contractName}  ${bytes} bytes`);
  }
  console.log(`artifacts in ${path.relative(process.cwd(), artifactsDir)}/`);
}
