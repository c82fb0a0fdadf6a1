import { BaseError } from '@protocol/errors';
import { type Address, getAddress, type Hex, isAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

/** The three reward contracts on one chain. */
export interface ChainContracts {
  token: Address;
  distributor: Address;
  registry: Address;
}

/** The operator's signing key, and whether it is anvil's public dev key (fine on the local chain only). */
export interface OperatorKey {
  privateKey: Hex;
  address: Address;
  source: 'GLEANER_OPERATOR_KEY' | 'anvil-dev-account';
}

/** Which reward chain the server runs with, read from the environment at boot. */
export type ChainSettings =
  /** GLEANER_CHAIN=off: rewards are computed and published as files only. */
  | { kind: 'off'; chainId: number }
  /** No CHAIN_RPC_URL: `npm start` runs anvil with the contracts deployed. */
  | {
      kind: 'local';
      chainId: number;
      /** GLEANER_CHAIN_PORT: a fixed port for wallets configured by hand; null: any free port. */
      port: number | null;
      /** GLEANER_CHAIN_PUBLIC_RPC_URL, else the local chain's own URL. */
      publicRpcUrl: string | null;
      operatorKey: OperatorKey;
    }
  /** CHAIN_RPC_URL: a chain run elsewhere, with the contracts already deployed there (or none: no on-chain rewards). */
  | {
      kind: 'external';
      chainId: number;
      /** Only for the server's own calls: it may carry credentials, so it is never shown or logged. */
      rpcUrl: string;
      /** What the console is told; null when the only URL known may carry credentials (a user, a path or a query). */
      publicRpcUrl: string | null;
      contracts: ChainContracts | null;
      /** Needed to publish epochs and commit dataset roots, not to serve the console. */
      operatorKey: OperatorKey | null;
    };

/**
 * Private key of anvil's first dev account (from the mnemonic "test test … junk" every anvil starts with).
 * It is public knowledge: the local chain uses it when no GLEANER_OPERATOR_KEY is set, and nowhere else.
 */
const anvilDevAccountKey: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

const addressVariables = {
  token: 'GLEANER_TOKEN_ADDRESS',
  distributor: 'GLEANER_DISTRIBUTOR_ADDRESS',
  registry: 'GLEANER_REGISTRY_ADDRESS',
} as const;

function invalid(problems: string[]): BaseError {
  return new BaseError('bad_request', `Invalid chain environment:\n${problems.map((line) => `  ${line}`).join('\n')}`);
}

/** An http(s) URL, or the problem with it in words (never the URL itself: it may hold a secret). */
function checkUrl(name: string, value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return undefined;
  } catch {}
  return `${name}: must be an http:// or https:// URL`;
}

/** A URL safe to hand to browsers: none that carries a user, password or query string (where providers put keys). */
export function publicRpcUrlOf(rpcUrl: string): string | null {
  const url = new URL(rpcUrl);
  return url.username || url.password || url.search ? null : rpcUrl;
}

/**
 * What the console may be told of CHAIN_RPC_URL, the server's own URL: a bare origin only. Providers put the
 * key in the path as often as in the query (Infura `/v3/KEY`, Alchemy `/v2/KEY`, QuickNode `/KEY/`), so a URL
 * with a path stays private; GLEANER_CHAIN_PUBLIC_RPC_URL names a public one with a path.
 */
function publicOriginOf(rpcUrl: string): string | null {
  const url = new URL(rpcUrl);
  return url.pathname === '/' && !url.hash ? publicRpcUrlOf(rpcUrl) : null;
}

const operatorKeyProblem =
  'GLEANER_OPERATOR_KEY: must be a private key, 0x and 64 hex digits within the secp256k1 range (the value is not shown)';

/**
 * GLEANER_OPERATOR_KEY checked: the key, undefined when unset, or the problem in words. Its value never appears
 * in a problem: messages end up in logs and terminals, and a near-miss key is still most of a key.
 */
function parseOperatorKey(env: NodeJS.ProcessEnv): OperatorKey | undefined | { problem: string } {
  const value = env.GLEANER_OPERATOR_KEY?.trim();
  if (!value) return undefined;
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) return { problem: operatorKeyProblem };
  const privateKey = value.toLowerCase() as Hex;
  try {
    return { privateKey, address: privateKeyToAccount(privateKey).address, source: 'GLEANER_OPERATOR_KEY' };
  } catch {
    // Not passed on as a cause: the library's message may quote the key.
    return { problem: operatorKeyProblem };
  }
}

/** anvil's first dev account as the operator: the local chain's default when GLEANER_OPERATOR_KEY is unset. */
export function anvilDevOperatorKey(): OperatorKey {
  return {
    privateKey: anvilDevAccountKey,
    address: privateKeyToAccount(anvilDevAccountKey).address,
    source: 'anvil-dev-account',
  };
}

/** The contract addresses from the environment: all three or none; a partial or bad set names each problem. */
function readContracts(env: NodeJS.ProcessEnv, problems: string[]): ChainContracts | null {
  const given = Object.entries(addressVariables).filter(([, name]) => env[name]?.trim());
  if (given.length === 0) return null;
  const contracts: Partial<ChainContracts> = {};
  for (const [key, name] of Object.entries(addressVariables) as [keyof ChainContracts, string][]) {
    const value = env[name]?.trim();
    if (!value) {
      problems.push(`${name}: missing (the token, distributor and registry addresses are needed together)`);
    } else if (!isAddress(value, { strict: false })) {
      problems.push(`${name}: must be an address, 0x and 40 hex digits`);
    } else {
      contracts[key] = getAddress(value);
    }
  }
  return problems.length === 0 ? (contracts as ChainContracts) : null;
}

/** Reads the reward chain's settings; throws one error naming every bad or missing variable. */
export function loadChainSettings(env: NodeJS.ProcessEnv, chainId: number): ChainSettings {
  const problems: string[] = [];
  const mode = env.GLEANER_CHAIN?.trim();
  if (mode && mode !== 'off') problems.push('GLEANER_CHAIN: must be "off" or unset');
  const rpcUrl = env.CHAIN_RPC_URL?.trim() || undefined;
  const publicRpcUrl = env.GLEANER_CHAIN_PUBLIC_RPC_URL?.trim() || undefined;
  for (const [name, value] of [
    ['CHAIN_RPC_URL', rpcUrl],
    ['GLEANER_CHAIN_PUBLIC_RPC_URL', publicRpcUrl],
  ] as const) {
    const problem = value === undefined ? undefined : checkUrl(name, value);
    if (problem) problems.push(problem);
  }
  if (publicRpcUrl !== undefined && publicRpcUrlOf(publicRpcUrl) === null) {
    problems.push(
      'GLEANER_CHAIN_PUBLIC_RPC_URL: is shown to every browser, so it may not carry a user, password or query',
    );
  }
  const portText = env.GLEANER_CHAIN_PORT?.trim();
  const port = portText ? Number(portText) : null;
  if (port !== null && !(Number.isInteger(port) && port >= 1 && port <= 65535)) {
    problems.push('GLEANER_CHAIN_PORT: must be a port number (1-65535)');
  }
  const parsedKey = parseOperatorKey(env);
  if (parsedKey && 'problem' in parsedKey) problems.push(parsedKey.problem);
  const operatorKey = parsedKey && !('problem' in parsedKey) ? parsedKey : undefined;
  const contracts = rpcUrl && mode !== 'off' ? readContracts(env, problems) : null;
  if (problems.length > 0) throw invalid(problems);

  if (mode === 'off') return { kind: 'off', chainId };
  if (rpcUrl) {
    return {
      kind: 'external',
      chainId,
      rpcUrl,
      publicRpcUrl: publicRpcUrl ?? publicOriginOf(rpcUrl),
      contracts,
      operatorKey: operatorKey ?? null,
    };
  }
  return {
    kind: 'local',
    chainId,
    port,
    publicRpcUrl: publicRpcUrl ?? null,
    operatorKey: operatorKey ?? anvilDevOperatorKey(),
  };
}

/** The RPC URL as it may be shown in a message: its origin only (paths and queries often hold provider keys). */
export function shownRpcUrl(rpcUrl: string): string {
  try {
    return new URL(rpcUrl).origin;
  } catch {
    return 'the configured RPC URL';
  }
}
