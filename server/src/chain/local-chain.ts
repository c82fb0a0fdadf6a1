import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import path from 'node:path';
import type { ChainInfo } from '@protocol/chain';
import { BaseError } from '@protocol/errors';
import {
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  getAddress,
  type Hash,
  http,
  isAddress,
  isAddressEqual,
  type PublicClient,
  parseEther,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { z } from 'zod';
import { startAnvil } from '../../../contracts/anvil';
import { contractArtifact } from '../../../contracts/compile';
import type { ChainContracts, OperatorKey } from './chain-settings';
import { rewardTokenAbi } from './reward-abis';

export interface LocalChainOptions {
  /** The server's data folder: the chain keeps `chain/state.json` and `chain/contracts.json` in it. */
  dataDir: string;
  chainId: number;
  operatorKey: OperatorKey;
  /** A fixed port for the chain's JSON-RPC; null: any free port. */
  port: number | null;
  /** What the console is told instead of the chain's own URL (e.g. one reachable from other machines). */
  publicRpcUrl: string | null;
}

/** The running local chain. */
export interface LocalChain {
  /** What `GET /v1/chain` answers. */
  info: ChainInfo;
  /** The chain's JSON-RPC on 127.0.0.1. */
  rpcUrl: string;
  contracts: ChainContracts;
  /** Whether the contracts were deployed in this start (first start, or the saved chain state was lost). */
  deployed: boolean;
  /** Stops the chain; anvil writes its state on the way out, so the next start finds the same contracts. */
  stop(): Promise<void>;
}

const chainAddressSchema = z
  .string()
  .refine((value) => isAddress(value), 'must be an address')
  .transform((value) => getAddress(value));

/** `<dataDir>/chain/contracts.json`: where the local contracts are, for the next start and for the CLI. */
const localChainFileSchema = z.object({
  chainId: z.number().int().positive(),
  /** The chain's JSON-RPC while the server runs (the port can change between starts). */
  rpcUrl: z.string(),
  operator: chainAddressSchema,
  token: chainAddressSchema,
  distributor: chainAddressSchema,
  registry: chainAddressSchema,
});
export type LocalChainFile = z.output<typeof localChainFileSchema>;

export const localChainFile = (dataDir: string) => path.join(dataDir, 'chain', 'contracts.json');

/** The contracts file the running server wrote, or null when there is none (never started, or another folder). */
export async function readLocalChainFile(dataDir: string): Promise<LocalChainFile | null> {
  let text: string;
  try {
    text = await readFile(localChainFile(dataDir), 'utf8');
  } catch {
    return null;
  }
  const parsed = localChainFileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new BaseError('bad_request', `${localChainFile(dataDir)} is not a contracts file.`);
  return parsed.data;
}

/**
 * Starts anvil with its state kept in the data folder, deploys the reward contracts the first time (and again
 * when the saved state is gone), and writes where they are for the CLI.
 */
export async function startLocalChain(options: LocalChainOptions): Promise<LocalChain> {
  const chainDir = path.join(options.dataDir, 'chain');
  await mkdir(chainDir, { recursive: true });
  // Bound before anvil starts, so a taken port fails fast with its own message.
  const forwarder = options.port === null ? null : await listenForwarder(options.port);
  const statePath = path.join(chainDir, 'state.json');
  const pidPath = path.join(chainDir, 'anvil.pid');
  let anvil: Awaited<ReturnType<typeof startAnvil>> | undefined;
  // Only a pid file this start wrote is removed on failure: one naming a running server's anvil stays.
  let recordedPid = false;
  try {
    await stopOrphanedAnvil(pidPath, statePath);
    anvil = await startAnvil({
      chainId: options.chainId,
      // --state loads the chain at start and writes it on exit; the interval bounds what a crash loses.
      extraArgs: ['--state', statePath, '--state-interval', '30'],
    });
    // With this server's pid: the next start ends this anvil only once that server is gone (stopOrphanedAnvil).
    if (anvil.pid !== undefined) {
      await writeFile(pidPath, `${anvil.pid} ${process.pid}\n`);
      recordedPid = true;
    }
    const rpcUrl = forwarder ? forwarder.attach(new URL(anvil.rpcUrl)) : anvil.rpcUrl;
    const chain = defineChain({
      id: options.chainId,
      name: 'Gleaner local chain',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [anvil.rpcUrl] } },
    });
    const transport = http(anvil.rpcUrl);
    const publicClient = createPublicClient({ chain, transport, pollingInterval: 50 });
    const operator = options.operatorKey.address;
    await fundOperator(publicClient, anvil.rpcUrl, operator);

    const saved = await readLocalChainFile(options.dataDir).catch(() => null);
    const reusable = saved && (await contractsAreLive(publicClient, saved, options.chainId, operator));
    let contracts: ChainContracts;
    if (saved && reusable) {
      contracts = { token: saved.token, distributor: saved.distributor, registry: saved.registry };
    } else {
      const walletClient = createWalletClient({
        chain,
        transport,
        account: privateKeyToAccount(options.operatorKey.privateKey),
      });
      const deploy = async (name: string, args: readonly unknown[]): Promise<Address> => {
        const { abi, bytecode } = await contractArtifact(name);
        const hash: Hash = await walletClient.deployContract({ abi, bytecode, args });
        const receipt = await publicClient.waitForTransactionReceipt({ hash });
        if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error(`${name} was not deployed`);
        return getAddress(receipt.contractAddress);
      };
      const token = await deploy('RewardToken', ['Gleaner Reward', 'GLR', operator]);
      const distributor = await deploy('CumulativeMerkleDistributor', [token, operator]);
      const registry = await deploy('DatasetRootRegistry', [operator]);
      contracts = { token, distributor, registry };
    }
    await writeLocalChainFile(options.dataDir, { chainId: options.chainId, rpcUrl, operator, ...contracts });

    const [tokenSymbol, tokenDecimals] = await Promise.all([
      publicClient.readContract({ address: contracts.token, abi: rewardTokenAbi, functionName: 'symbol' }),
      publicClient.readContract({ address: contracts.token, abi: rewardTokenAbi, functionName: 'decimals' }),
    ]);
    const running = anvil;
    return {
      info: {
        chainId: options.chainId,
        rpcUrl: options.publicRpcUrl ?? rpcUrl,
        local: true,
        contracts: { ...contracts, tokenSymbol, tokenDecimals },
      },
      rpcUrl,
      contracts,
      deployed: !reusable,
      stop: async () => {
        await forwarder?.close();
        await running.stop();
        await rm(pidPath, { force: true });
      },
    };
  } catch (error) {
    await forwarder?.close();
    await anvil?.stop();
    if (recordedPid) await rm(pidPath, { force: true });
    throw error;
  }
}

/**
 * A server killed outright (SIGKILL, the OOM killer) leaves its anvil running: still serving the old chain and
 * writing its state over the next anvil's every 30 s. The next start ends it first, by the pid it recorded,
 * with SIGTERM so it writes its state (the newest there is) on the way out. Only a process whose command line
 * names this chain's state file is ended, never one that has since been given the same pid; and only an orphan:
 * an anvil whose parent is still the server that recorded it belongs to a server running on this data folder now,
 * and ending it would take that server's chain away, so this start is refused instead. Without /proc (not Linux)
 * the orphan is left, as before.
 */
async function stopOrphanedAnvil(pidPath: string, statePath: string): Promise<void> {
  const [recorded, owner] = (await readFile(pidPath, 'utf8').catch(() => '')).trim().split(/\s+/).map(Number);
  if (recorded === undefined || !Number.isSafeInteger(recorded) || recorded <= 0) return;
  const isOurAnvil = async () =>
    (await readFile(`/proc/${recorded}/cmdline`, 'utf8').catch(() => '')).split('\0').includes(statePath);
  if (!(await isOurAnvil())) {
    await rm(pidPath, { force: true });
    return;
  }
  // The parent is what tells a live server's anvil from an orphan: an orphan's was re-parented when it died.
  const stat = await readFile(`/proc/${recorded}/stat`, 'utf8').catch(() => '');
  const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  if (owner !== undefined && parent === owner) {
    throw new Error(
      `The local chain in ${path.dirname(statePath)} is in use by a running server (process ${owner}, anvil ${recorded}); stop it or give this one another GLEANER_DATA_DIR.`,
    );
  }
  await rm(pidPath, { force: true });
  // The orphan may end between the check and the signal: a process already gone is what was wanted.
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(recorded, name);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + 10_000;
  let killed = false;
  while (await isOurAnvil()) {
    if (!killed && Date.now() > deadline) {
      signal('SIGKILL');
      killed = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// anvil's dev accounts start with ETH; an operator key of one's own starts with none and could not deploy.
async function fundOperator(publicClient: PublicClient, rpcUrl: string, operator: Address): Promise<void> {
  if ((await publicClient.getBalance({ address: operator })) > 0n) return;
  const testClient = createTestClient({ chain: publicClient.chain, mode: 'anvil', transport: http(rpcUrl) });
  await testClient.setBalance({ address: operator, value: parseEther('1000') });
}

/** The saved contracts still have code on this chain and belong to this operator (else: deploy afresh). */
async function contractsAreLive(
  publicClient: PublicClient,
  saved: LocalChainFile,
  chainId: number,
  operator: Address,
): Promise<boolean> {
  if (saved.chainId !== chainId || !isAddressEqual(saved.operator, operator)) return false;
  for (const address of [saved.token, saved.distributor, saved.registry]) {
    const code = await publicClient.getCode({ address });
    if (!code || code === '0x') return false;
  }
  return true;
}

async function writeLocalChainFile(dataDir: string, file: z.input<typeof localChainFileSchema>): Promise<void> {
  const target = localChainFile(dataDir);
  const temporary = `${target}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`);
  await rename(temporary, target);
}

/**
 * Listens on the fixed port and forwards each connection to anvil, which contracts/anvil.ts always starts on
 * a free port. Listening first means a taken port fails before anything else starts.
 */
async function listenForwarder(port: number) {
  let target: URL | undefined;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (!target) return socket.destroy();
    const upstream = tcpConnect(Number(target.port), target.hostname);
    upstream.once('close', () => socket.destroy());
    socket.once('close', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new BaseError(
          'conflict',
          error.code === 'EADDRINUSE'
            ? `GLEANER_CHAIN_PORT ${port} is already in use: stop what listens there or choose another port.`
            : `The local chain could not listen on GLEANER_CHAIN_PORT ${port}: ${error.message}`,
        ),
      ),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    attach(anvilUrl: URL): string {
      target = anvilUrl;
      return `http://127.0.0.1:${port}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
