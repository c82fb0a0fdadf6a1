import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultChainId } from '@protocol/signing';
import { createPublicClient, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anvilDevOperatorKey } from './chain-settings';
import { type LocalChainOptions, readLocalChainFile, startLocalChain } from './local-chain';
import { distributorAbi, rewardTokenAbi } from './reward-abis';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'gleaner-local-chain-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const options = (): LocalChainOptions => ({
  dataDir,
  chainId: defaultChainId,
  operatorKey: anvilDevOperatorKey(),
  port: null,
  publicRpcUrl: null,
});

describe('local chain', () => {
  it('deploys the contracts once and finds them again after a restart, from the saved chain state', async () => {
    const first = await startLocalChain(options());
    let firstContracts: typeof first.contracts;
    try {
      expect(first.deployed).toBe(true);
      expect(first.info).toEqual({
        chainId: defaultChainId,
        rpcUrl: first.rpcUrl,
        local: true,
        contracts: { ...first.contracts, tokenSymbol: 'GLR', tokenDecimals: 18 },
      });
      const client = createPublicClient({ transport: http(first.rpcUrl) });
      expect(await client.getChainId()).toBe(defaultChainId);
      expect(
        await client.readContract({ address: first.contracts.distributor, abi: distributorAbi, functionName: 'token' }),
      ).toBe(first.contracts.token);
      // The CLI finds the running chain through this file.
      expect(await readLocalChainFile(dataDir)).toEqual({
        chainId: defaultChainId,
        rpcUrl: first.rpcUrl,
        operator: anvilDevOperatorKey().address,
        ...first.contracts,
      });
      firstContracts = first.contracts;
    } finally {
      await first.stop();
    }

    const second = await startLocalChain(options());
    try {
      expect(second.deployed).toBe(false);
      expect(second.contracts).toEqual(firstContracts);
      const client = createPublicClient({ transport: http(second.rpcUrl) });
      expect(
        await client.readContract({ address: second.contracts.token, abi: rewardTokenAbi, functionName: 'symbol' }),
      ).toBe('GLR');
      expect((await readLocalChainFile(dataDir))?.rpcUrl).toBe(second.rpcUrl);
    } finally {
      await second.stop();
    }
  });

  it('ends the anvil a killed server left running before it starts the next, and keeps that chain', async () => {
    // A server killed outright (SIGKILL) never stops its anvil: a process of its own starts a chain and is killed.
    const script = path.join(dataDir, 'killed-server.mts');
    await writeFile(
      script,
      `import { anvilDevOperatorKey } from ${JSON.stringify(path.join(here, 'chain-settings.ts'))};
       import { startLocalChain } from ${JSON.stringify(path.join(here, 'local-chain.ts'))};
       const chain = await startLocalChain({ ...${JSON.stringify({ dataDir, chainId: defaultChainId, port: null, publicRpcUrl: null })}, operatorKey: anvilDevOperatorKey() });
       process.stdout.write(JSON.stringify(chain.contracts) + '\\n');
       setInterval(() => {}, 60_000);`,
    );
    const server = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: repoRoot,
      env: { ...process.env, TSX_TSCONFIG_PATH: 'server/tsconfig.json' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const killedContracts = JSON.parse(
      await new Promise<string>((resolve, reject) => {
        let output = '';
        server.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          output += chunk;
          if (output.includes('\n')) resolve(output);
        });
        server.once('exit', (code) => reject(new Error(`the server to kill exited first (${code}): ${output}`)));
      }),
    );
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await exited;
    const orphan = Number.parseInt(await readFile(path.join(dataDir, 'chain', 'anvil.pid'), 'utf8'), 10);
    expect(alive(orphan)).toBe(true);
    const next = await startLocalChain(options());
    try {
      await expect.poll(() => alive(orphan), { timeout: 10_000 }).toBe(false);
      // The orphan wrote its state as it went, so the contracts it held are found, not deployed again.
      expect(next.deployed).toBe(false);
      expect(next.contracts).toEqual(killedContracts);
      expect(Number.parseInt(await readFile(path.join(dataDir, 'chain', 'anvil.pid'), 'utf8'), 10)).not.toBe(orphan);
    } finally {
      await next.stop();
    }
  });

  it('leaves the anvil of a server still running on the same data folder alone, and says why it cannot start', async () => {
    const running = await startLocalChain(options());
    try {
      await expect(startLocalChain(options())).rejects.toThrow('is in use by a running server');
      // The running server's chain still answers, and its anvil is still the one recorded.
      const client = createPublicClient({ transport: http(running.rpcUrl) });
      expect(await client.getChainId()).toBe(defaultChainId);
      expect(alive(Number.parseInt(await readFile(path.join(dataDir, 'chain', 'anvil.pid'), 'utf8'), 10))).toBe(true);
    } finally {
      await running.stop();
    }
    await expect(readFile(path.join(dataDir, 'chain', 'anvil.pid'), 'utf8')).rejects.toThrow('ENOENT');
  });

  it('deploys afresh when the saved chain state is gone', async () => {
    const before = await readLocalChainFile(dataDir);
    expect(before).not.toBeNull();
    await rm(path.join(dataDir, 'chain', 'state.json'));
    const chain = await startLocalChain(options());
    try {
      expect(chain.deployed).toBe(true);
      const client = createPublicClient({ transport: http(chain.rpcUrl) });
      expect(await client.getCode({ address: chain.contracts.distributor })).toMatch(/^0x[0-9a-f]{2,}/);
      expect((await readLocalChainFile(dataDir))?.distributor).toBe(chain.contracts.distributor);
    } finally {
      await chain.stop();
    }
  });

  it('serves the chain on GLEANER_CHAIN_PORT, and says so when that port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startLocalChain({ ...options(), port })).rejects.toThrow(
        `GLEANER_CHAIN_PORT ${port} is already in use`,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }

    const chain = await startLocalChain({ ...options(), port });
    try {
      expect(chain.rpcUrl).toBe(`http://127.0.0.1:${port}`);
      const client = createPublicClient({ transport: http(chain.rpcUrl) });
      expect(await client.getChainId()).toBe(defaultChainId);
      expect(
        await client.readContract({ address: chain.contracts.token, abi: rewardTokenAbi, functionName: 'decimals' }),
      ).toBe(18);
    } finally {
      await chain.stop();
    }
  });
});
