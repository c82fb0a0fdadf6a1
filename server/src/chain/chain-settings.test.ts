import { describe, expect, it } from 'vitest';
import { loadChainSettings, publicRpcUrlOf } from './chain-settings';

const chainId = 31337;
const addresses = {
  GLEANER_TOKEN_ADDRESS: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
  GLEANER_DISTRIBUTOR_ADDRESS: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
  GLEANER_REGISTRY_ADDRESS: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
};
// A real-looking key: the errors must not show any of it.
const secretKey = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';

function errorOf(env: NodeJS.ProcessEnv): Error {
  try {
    loadChainSettings(env, chainId);
  } catch (error) {
    return error as Error;
  }
  throw new Error('no error');
}

describe('chain settings', () => {
  it('runs the local chain by default, with anvil dev account as operator', () => {
    const settings = loadChainSettings({}, chainId);
    expect(settings).toMatchObject({
      kind: 'local',
      chainId,
      port: null,
      publicRpcUrl: null,
      operatorKey: { address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266', source: 'anvil-dev-account' },
    });
  });

  it('turns the chain off with GLEANER_CHAIN=off, even with CHAIN_RPC_URL set', () => {
    expect(loadChainSettings({ GLEANER_CHAIN: 'off', CHAIN_RPC_URL: 'https://rpc.example' }, chainId)).toEqual({
      kind: 'off',
      chainId,
    });
    expect(errorOf({ GLEANER_CHAIN: 'no' }).message).toContain('GLEANER_CHAIN: must be "off" or unset');
  });

  it('takes an external chain with all three contract addresses, checksummed', () => {
    const settings = loadChainSettings(
      { CHAIN_RPC_URL: 'https://rpc.example/v1', GLEANER_OPERATOR_KEY: secretKey, ...addresses },
      chainId,
    );
    expect(settings).toMatchObject({
      kind: 'external',
      rpcUrl: 'https://rpc.example/v1',
      // The path may be a provider key: the console is told no URL (it reads the chain through the wallet).
      publicRpcUrl: null,
      contracts: {
        token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
        distributor: addresses.GLEANER_DISTRIBUTOR_ADDRESS,
        registry: addresses.GLEANER_REGISTRY_ADDRESS,
      },
      operatorKey: { source: 'GLEANER_OPERATOR_KEY' },
    });
  });

  it('names each missing or bad contract address', () => {
    const message = errorOf({
      CHAIN_RPC_URL: 'https://rpc.example',
      GLEANER_TOKEN_ADDRESS: addresses.GLEANER_TOKEN_ADDRESS,
      GLEANER_DISTRIBUTOR_ADDRESS: '0x1234',
    }).message;
    expect(message).toContain('GLEANER_DISTRIBUTOR_ADDRESS: must be an address');
    expect(message).toContain('GLEANER_REGISTRY_ADDRESS: missing (the token, distributor and registry addresses');
    expect(message).not.toContain('GLEANER_TOKEN_ADDRESS');
  });

  it('refuses a bad operator key without ever showing it', () => {
    // Too short, not hex, and a well-formed value outside the curve's range (zero).
    for (const bad of [secretKey.slice(0, -2), `${secretKey.slice(0, -1)}g`, `0x${'0'.repeat(64)}`]) {
      const error = errorOf({ GLEANER_OPERATOR_KEY: bad });
      expect(error.message).toContain('GLEANER_OPERATOR_KEY: must be a private key');
      expect(error.message).not.toContain(bad.slice(2, 12));
      expect(error.cause).toBeUndefined();
      expect(JSON.stringify(error)).not.toContain(bad.slice(2, 12));
    }
  });

  it('tells the console no RPC URL that carries credentials or a query', () => {
    expect(publicRpcUrlOf('https://user:secret@rpc.example')).toBeNull();
    expect(publicRpcUrlOf('https://rpc.example/?apikey=secret')).toBeNull();
    expect(publicRpcUrlOf('https://rpc.example/')).toBe('https://rpc.example/');
    expect(
      loadChainSettings({ CHAIN_RPC_URL: 'https://rpc.example/?key=secret', ...addresses }, chainId),
    ).toMatchObject({ kind: 'external', publicRpcUrl: null });
    expect(
      loadChainSettings(
        { CHAIN_RPC_URL: 'https://rpc.example/?key=secret', GLEANER_CHAIN_PUBLIC_RPC_URL: 'https://public.example' },
        chainId,
      ),
    ).toMatchObject({ kind: 'external', publicRpcUrl: 'https://public.example', contracts: null, operatorKey: null });
    expect(errorOf({ GLEANER_CHAIN_PUBLIC_RPC_URL: 'https://rpc.example/?key=secret' }).message).toContain(
      'GLEANER_CHAIN_PUBLIC_RPC_URL: is shown to every browser',
    );
  });

  it('never tells the console a CHAIN_RPC_URL whose path may hold a provider key (Infura, Alchemy, QuickNode)', () => {
    for (const rpcUrl of [
      'https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef',
      'https://eth-mainnet.g.alchemy.com/v2/AbCdEfGhIjKlMnOpQrStUvWxYz012345',
      'https://example.quiknode.pro/0123456789abcdef/',
    ]) {
      const settings = loadChainSettings({ CHAIN_RPC_URL: rpcUrl, ...addresses }, chainId);
      expect(settings).toMatchObject({ kind: 'external', rpcUrl, publicRpcUrl: null });
    }
    // A bare origin carries nothing secret; a path the operator names as public is theirs to give.
    expect(loadChainSettings({ CHAIN_RPC_URL: 'https://rpc.example', ...addresses }, chainId)).toMatchObject({
      publicRpcUrl: 'https://rpc.example',
    });
    expect(
      loadChainSettings(
        { CHAIN_RPC_URL: 'https://rpc.example/v2/secret', GLEANER_CHAIN_PUBLIC_RPC_URL: 'https://rpc.ankr.com/eth' },
        chainId,
      ),
    ).toMatchObject({ publicRpcUrl: 'https://rpc.ankr.com/eth' });
  });

  it('names a bad URL or port without repeating the value', () => {
    const message = errorOf({ CHAIN_RPC_URL: 'ftp://user:hunter2@rpc.example', GLEANER_CHAIN_PORT: '99999' }).message;
    expect(message).toContain('CHAIN_RPC_URL: must be an http:// or https:// URL');
    expect(message).toContain('GLEANER_CHAIN_PORT: must be a port number');
    expect(message).not.toContain('hunter2');
  });
});
