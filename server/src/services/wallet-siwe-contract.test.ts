import { walletLinkMessageFields } from '@protocol/wallets';
import type { FastifyInstance } from 'fastify';
import { type Address, type Hex, serializeErc6492Signature } from 'viem';
import { generatePrivateKey, type LocalAccount, privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestChain, type TestChain } from '../../../contracts/test-chain';
import { counterfactualOwnerSmartWallet, deployOwnerSmartWallet } from '../../../contracts/testing/owner-smart-wallet';
import { buildTestApp, signedInject, testSigningServer } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { registerDevice } from '../test/scrape-fixtures';

// Smart-contract wallets (EIP-1271, and EIP-6492 before deployment) sign in through the app's real
// /v1/wallets/link route, verified on a real anvil chain; one chain serves both database halves.
let chain: TestChain;
beforeAll(async () => {
  chain = await startTestChain();
});
afterAll(async () => {
  await chain?.anvil.stop();
});

const newKey = () => privateKeyToAccount(generatePrivateKey());

/** A device of `server` with a fresh link code, and a link message naming it for `wallet`, as the console writes it. */
async function linkRequest(server: FastifyInstance, wallet: Address) {
  const device = await registerDevice(server);
  const codeResponse = await signedInject(server, device, { method: 'POST', url: '/v1/devices/me/link-code' });
  expect(codeResponse.statusCode, codeResponse.body).toBe(201);
  const nonceResponse = await server.inject({ method: 'GET', url: '/v1/wallets/nonce' });
  expect(nonceResponse.statusCode, nonceResponse.body).toBe(200);
  const now = Date.now();
  const message = createSiweMessage({
    address: wallet,
    chainId: testSigningServer.chainId,
    domain: new URL(testSigningServer.origin).host,
    uri: testSigningServer.origin,
    version: '1',
    nonce: nonceResponse.json().nonce,
    issuedAt: new Date(now),
    expirationTime: new Date(now + 5 * 60_000),
    ...walletLinkMessageFields('link', device.address, codeResponse.json().code),
  });
  return { device, message };
}

function send(server: FastifyInstance, message: string, signature: Hex) {
  return server.inject({ method: 'POST', url: '/v1/wallets/link', payload: { message, signature } });
}

async function linkedWallet(server: FastifyInstance, device: LocalAccount): Promise<Address | null> {
  const response = await signedInject(server, device, { method: 'GET', url: '/v1/devices/me/wallet' });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().link?.wallet ?? null;
}

describeEachDatabase('smart-contract wallets sign in through the chain', (database) => {
  /** Built with the anvil chain's RPC URL, as `npm start` does. */
  let app: FastifyInstance;
  /** Built without a chain: plain keys only. */
  let chainless: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp(database(), {}, { chainRpcUrl: chain.anvil.rpcUrl });
    chainless = await buildTestApp(database());
  });
  afterAll(async () => {
    await app?.close();
    await chainless?.close();
  });

  it("links a device to a deployed smart wallet (EIP-1271) with its owner key's signature", async () => {
    const owner = newKey();
    const wallet = await deployOwnerSmartWallet(chain, owner.address);
    const { device, message } = await linkRequest(app, wallet);

    const response = await send(app, message, await owner.signMessage({ message }));

    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ device: device.address, wallet, unlinkedAt: null });
    expect(await linkedWallet(app, device)).toBe(wallet);
  });

  it("refuses a smart wallet's link signed by a key that is not its owner", async () => {
    const wallet = await deployOwnerSmartWallet(chain, newKey().address);
    const { device, message } = await linkRequest(app, wallet);

    const response = await send(app, message, await newKey().signMessage({ message }));

    expect(response.statusCode, response.body).toBe(401);
    expect(response.json()).toMatchObject({
      code: 'siwe_signature_invalid',
      message: `The signature is not by ${wallet}, the message's address.`,
    });
    expect(await linkedWallet(app, device)).toBeNull();
  });

  it('refuses a malformed signature for a smart wallet as invalid, not as a server error', async () => {
    const wallet = await deployOwnerSmartWallet(chain, newKey().address);
    const { device, message } = await linkRequest(app, wallet);

    const response = await send(app, message, '0x1234');

    expect(response.statusCode, response.body).toBe(401);
    expect(response.json().code).toBe('siwe_signature_invalid');
    expect(await linkedWallet(app, device)).toBeNull();
  });

  it('links a smart wallet not deployed yet (EIP-6492) without deploying it, and refuses a stranger wrapped the same way', async () => {
    const owner = newKey();
    const { address: wallet, factory, factoryData } = await counterfactualOwnerSmartWallet(chain, owner.address);
    const wrapped = async (signer: LocalAccount, message: string) =>
      serializeErc6492Signature({
        address: factory,
        data: factoryData,
        signature: await signer.signMessage({ message }),
      });

    const stranger = await linkRequest(app, wallet);
    const refused = await send(app, stranger.message, await wrapped(newKey(), stranger.message));
    expect(refused.statusCode, refused.body).toBe(401);
    expect(refused.json().code).toBe('siwe_signature_invalid');

    const { device, message } = await linkRequest(app, wallet);
    const response = await send(app, message, await wrapped(owner, message));
    expect(response.statusCode, response.body).toBe(200);
    expect(await linkedWallet(app, device)).toBe(wallet);
    // The check ran the deployment in a simulated call only: the wallet is still not on chain.
    expect(await chain.publicClient.getCode({ address: wallet })).toBeUndefined();
  });

  it('still links plain-key wallets when verifying through the chain', async () => {
    const wallet = newKey();
    const { device, message } = await linkRequest(app, wallet.address);

    const response = await send(app, message, await wallet.signMessage({ message }));

    expect(response.statusCode, response.body).toBe(200);
    expect(await linkedWallet(app, device)).toBe(wallet.address);
  });

  it('refuses a smart wallet on a server with no chain, saying it accepts plain-key wallets only', async () => {
    const owner = newKey();
    const wallet = await deployOwnerSmartWallet(chain, owner.address);
    const { device, message } = await linkRequest(chainless, wallet);

    const response = await send(chainless, message, await owner.signMessage({ message }));

    expect(response.statusCode, response.body).toBe(401);
    expect(response.json().code).toBe('siwe_signature_invalid');
    expect(response.json().message).toMatch(
      /not connected to a chain.*plain-key wallets only, not smart-contract wallets/,
    );
    expect(await linkedWallet(chainless, device)).toBeNull();
  });
});

describeEachDatabase('a smart wallet while the chain does not answer', (database) => {
  let app: FastifyInstance;
  let wallet: Address;
  const owner = newKey();
  beforeAll(async () => {
    // A real chain with the wallet on it, stopped: the app is configured with a chain that no longer answers.
    const stopped = await startTestChain();
    wallet = await deployOwnerSmartWallet(stopped, owner.address);
    await stopped.anvil.stop();
    app = await buildTestApp(database(), {}, { chainRpcUrl: stopped.anvil.rpcUrl });
  });
  afterAll(async () => {
    await app?.close();
  });

  it('answers that the chain cannot be reached (503, retry), never that the signature is wrong', async () => {
    const { device, message } = await linkRequest(app, wallet);
    const signature = await owner.signMessage({ message });

    const response = await send(app, message, signature);

    expect(response.statusCode, response.body).toBe(503);
    expect(response.json()).toMatchObject({
      code: 'overloaded',
      message: expect.stringMatching(/cannot reach its chain/),
    });
    // Plain keys need no chain: they still link.
    const plain = newKey();
    expect(await linkedWallet(app, device)).toBeNull();
    const again = await linkRequest(app, plain.address);
    const linked = await send(app, again.message, await plain.signMessage({ message: again.message }));
    expect(linked.statusCode, linked.body).toBe(200);
  });
});
