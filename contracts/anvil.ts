import { type ChildProcess, type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { EVM_VERSION } from './compile';

/** A running local anvil chain. */
export interface Anvil {
  /** JSON-RPC over HTTP, e.g. `http://127.0.0.1:41234`. */
  rpcUrl: string;
  /** The anvil process's id (undefined only if the system gave none). */
  pid: number | undefined;
  /** Stops the chain and waits until its process has exited. */
  stop(): Promise<void>;
}

export interface AnvilOptions {
  /** Default 31337, anvil's own. */
  chainId?: number;
  /** How long to wait for the first JSON-RPC answer; default 30 s (the machines are shared and slow). */
  startTimeoutMs?: number;
  /** More anvil flags, e.g. `['--state', 'data/chain']` to keep the chain between runs. */
  extraArgs?: readonly string[];
}

const require = createRequire(import.meta.url);
const platformArchitectures: Partial<Record<string, string>> = { x64: 'amd64', arm64: 'arm64' };

/** The anvil binary shipped in `@foundry-rs/anvil`'s platform package (nothing is downloaded at run time). */
export function anvilBinaryPath(): string {
  // `@foundry-rs/anvil` only wraps the binary in a Node process; run the binary itself so stop() reaches it.
  // The platform package is an optional dependency of the wrapper, so resolve it from there.
  const wrapperRequire = createRequire(require.resolve('@foundry-rs/anvil/package.json'));
  const platformPackage = `@foundry-rs/anvil-${process.platform}-${platformArchitectures[process.arch] ?? process.arch}`;
  const binaryName = process.platform === 'win32' ? 'anvil.exe' : 'anvil';
  let binaryPath: string;
  try {
    binaryPath = wrapperRequire.resolve(`${platformPackage}/bin/${binaryName}`);
  } catch {
    throw new Error(`anvil has no binary for ${process.platform}-${process.arch}: ${platformPackage} is not installed`);
  }
  if (!existsSync(binaryPath)) throw new Error(`anvil binary missing at ${binaryPath}`);
  return binaryPath;
}

/** Starts anvil on a free port of 127.0.0.1 and resolves once it answers JSON-RPC. */
export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const { chainId = 31337, startTimeoutMs = 30_000, extraArgs = [] } = options;
  const child = spawn(
    anvilBinaryPath(),
    // Port 0: the system picks a free port and anvil prints it, so two chains never race for one.
    ['--host', '127.0.0.1', '--port', '0', '--chain-id', String(chainId), '--hardfork', EVM_VERSION, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stderr: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
  try {
    const rpcUrl = await withTimeout(listeningUrl(child, stderr), startTimeoutMs, 'to print its address');
    await waitForJsonRpc(rpcUrl, chainId, Date.now() + startTimeoutMs);
    return { rpcUrl, pid: child.pid, stop: () => stopProcess(child) };
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
}

// anvil prints "Listening on 127.0.0.1:PORT" once its server is bound.
function listeningUrl(child: ChildProcessByStdio<null, Readable, Readable>, stderr: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = /Listening on (\S+:\d+)/.exec(line);
      if (match) resolve(`http://${match[1]}`);
    });
    child.once('error', (error) => reject(new Error(`anvil could not start: ${error.message}`)));
    child.once('exit', (code, signal) => {
      const why = stderr.join('').trim() || 'no output on stderr';
      reject(new Error(`anvil exited before listening (${signal ?? `code ${code}`}): ${why}`));
    });
  });
}

async function waitForJsonRpc(rpcUrl: string, chainId: number, deadline: number): Promise<void> {
  let lastError: unknown;
  while (Date.now() < deadline) {
    let result: string | undefined;
    try {
      const response = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      });
      ({ result } = (await response.json()) as { result?: string });
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    if (result !== undefined && Number(result) === chainId) return;
    throw new Error(`anvil at ${rpcUrl} answered chain id ${result}, expected ${chainId}`);
  }
  const why = lastError instanceof Error ? `: ${lastError.message}` : '';
  throw new Error(`anvil at ${rpcUrl} did not answer JSON-RPC in time${why}`);
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`anvil did not manage ${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
