import type { Page } from '@playwright/test';
import {
  type Address,
  createWalletClient,
  defineChain,
  type Hex,
  hexToString,
  http,
  isHex,
  type LocalAccount,
} from 'viem';

/**
 * A browser wallet for tests: an EIP-1193 `window.ethereum` injected into the page that signs with a viem
 * local account held by the test process and sends everything else to the chain's JSON-RPC (anvil). The
 * console talks to it through wagmi's injected connector exactly as it would to a wallet extension.
 */
export async function injectWallet(
  page: Page,
  options: { account: LocalAccount; chainId: number; rpcUrl: string },
): Promise<void> {
  const { account, chainId, rpcUrl } = options;
  const chain = defineChain({
    id: chainId,
    name: 'test chain',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  const wallet = createWalletClient({ account, chain, transport: http(rpcUrl) });

  async function rpc(method: string, params: unknown): Promise<unknown> {
    const response = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: params ?? [] }),
    });
    const body = (await response.json()) as { result?: unknown; error?: { code: number; message: string } };
    if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code });
    return body.result;
  }

  async function handle(method: string, params: unknown[]): Promise<unknown> {
    switch (method) {
      case 'eth_requestAccounts':
      case 'eth_accounts':
        return [account.address];
      case 'eth_chainId':
        return `0x${chainId.toString(16)}`;
      case 'net_version':
        return String(chainId);
      case 'wallet_switchEthereumChain':
      case 'wallet_addEthereumChain':
        return null;
      case 'wallet_requestPermissions':
      case 'wallet_getPermissions':
        return [{ parentCapability: 'eth_accounts' }];
      case 'personal_sign': {
        const [message, from] = params as [Hex, Address];
        if (from.toLowerCase() !== account.address.toLowerCase()) throw new Error(`unknown account ${from}`);
        return account.signMessage({ message: isHex(message) ? { raw: message } : hexToString(message) });
      }
      case 'eth_signTypedData_v4': {
        const [, typedData] = params as [Address, string];
        return account.signTypedData(JSON.parse(typedData));
      }
      case 'eth_sendTransaction': {
        const [tx] = params as [{ to?: Address; data?: Hex; value?: Hex; gas?: Hex }];
        return wallet.sendTransaction({
          to: tx.to,
          data: tx.data,
          value: tx.value ? BigInt(tx.value) : undefined,
          gas: tx.gas ? BigInt(tx.gas) : undefined,
        });
      }
      default:
        return rpc(method, params);
    }
  }

  await page.exposeFunction('__gleanerTestWallet', async (method: string, params: unknown[]) => {
    try {
      return { result: await handle(method, params ?? []) };
    } catch (error) {
      const code = (error as { code?: number }).code ?? -32603;
      return { error: { code, message: (error as Error).message } };
    }
  });
  await page.addInitScript(() => {
    type Reply = { result?: unknown; error?: { code: number; message: string } };
    const call = (window as unknown as { __gleanerTestWallet: (m: string, p: unknown) => Promise<Reply> })
      .__gleanerTestWallet;
    const listeners = new Map<string, Set<(...args: unknown[]) => void>>();
    const provider = {
      isMetaMask: false,
      async request({ method, params }: { method: string; params?: unknown }) {
        const reply = await call(method, params ?? []);
        if (reply.error) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
        return reply.result;
      },
      on(event: string, listener: (...args: unknown[]) => void) {
        if (!listeners.has(event)) listeners.set(event, new Set());
        listeners.get(event)?.add(listener);
        return provider;
      },
      removeListener(event: string, listener: (...args: unknown[]) => void) {
        listeners.get(event)?.delete(listener);
        return provider;
      },
    };
    (window as unknown as { ethereum: typeof provider }).ethereum = provider;
  });
}

/** Gives `address` ether on anvil so it can pay for gas. */
export async function fundOnAnvil(rpcUrl: string, address: Address, wei = 10n ** 20n): Promise<void> {
  const response = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'anvil_setBalance',
      params: [address, `0x${wei.toString(16)}`],
    }),
  });
  const body = (await response.json()) as { error?: { message: string } };
  if (body.error) throw new Error(`anvil_setBalance failed: ${body.error.message}`);
}
