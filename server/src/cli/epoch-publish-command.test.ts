import path from 'node:path';
import { epochFileSchema, epochProofSchema, epochSummarySchema } from '@protocol/epochs';
import { defaultChainId } from '@protocol/signing';
import type { FastifyInstance } from 'fastify';
import { type Address, createPublicClient, createWalletClient, type Hex, http } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anvilDevOperatorKey } from '../chain/chain-settings';
import { distributorAbi, rewardTokenAbi } from '../chain/reward-abis';
import { startTestChain, type TestChain } from '../chain/test-chain';
import type { Database } from '../db/database';
import { migrate } from '../db/migrate';
import { openPgliteDatabase } from '../db/pglite-database';
import { addDevice, creditPoints, newAddress } from '../rewards/test-ledger';
import { buildTestApp, testOperatorToken } from '../test/app';
import { epochFileRoot, runEpochPublish } from './epoch-publish-command';

// The whole path on real parts: the epoch closed by the server, its public file over HTTP, anvil.
describe('gleaner epoch publish', () => {
  let chain: TestChain;
  let db: Database;
  let app: FastifyInstance;
  let serverUrl: string;
  const wallets = [newAddress(), newAddress(), newAddress()];
  const printed: string[] = [];
  const publish = (env: NodeJS.ProcessEnv = { GLEANER_DATA_DIR: chain.dataDir }) =>
    runEpochPublish({
      epoch: 'latest',
      serverUrl,
      operatorToken: testOperatorToken,
      env,
      out: (text) => printed.push(text),
    });

  beforeAll(async () => {
    chain = await startTestChain('epoch-publish');
    db = await openPgliteDatabase();
    await migrate(db);
    app = await buildTestApp(db, {}, { chain: chain.info });
    for (const [index, wallet] of wallets.entries())
      await creditPoints(db, await addDevice(db, wallet), 10 * (index + 1));
    const closed = await app.inject({
      method: 'POST',
      url: '/v1/admin/epochs/close',
      headers: { authorization: `Bearer ${testOperatorToken}` },
      payload: {},
    });
    expect(closed.statusCode, closed.body).toBe(200);
    serverUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
    await chain?.stop();
  });

  it('sets on chain the root anyone recomputes from the public epoch file, and records the transaction', async () => {
    expect(await publish()).toBe(0);
    const summary = epochSummarySchema.parse((await app.inject({ method: 'GET', url: '/v1/epochs/1' })).json());
    expect(printed.join('')).toContain(`Published epoch 1 on chain ${defaultChainId}`);
    expect(printed.join('')).toContain(`(transaction ${summary.publishedTx})`);

    // What anyone does: download the file, rebuild the tree, compare with the distributor.
    const file = epochFileSchema.parse(await (await fetch(`${serverUrl}/v1/epochs/1/file`)).json());
    const client = createPublicClient({ chain: foundry, transport: http(chain.rpcUrl), pollingInterval: 50 });
    const onChain = await client.readContract({
      address: chain.contracts.distributor,
      abi: distributorAbi,
      functionName: 'epochOf',
      args: [1n],
    });
    expect(epochFileRoot(file)).toBe(onChain.root);
    expect(onChain.contentId).toBe(summary.contentId);
    const receipt = await client.getTransactionReceipt({ hash: summary.publishedTx as Hex });
    expect(receipt.to?.toLowerCase()).toBe(chain.contracts.distributor.toLowerCase());

    // The distributor holds exactly what the epoch pays, and a wallet's proof from the API claims its share.
    const paid = file.wallets.reduce((sum, wallet) => sum + BigInt(wallet.amount), 0n);
    const balanceOf = (account: Address) =>
      client.readContract({
        address: chain.contracts.token,
        abi: rewardTokenAbi,
        functionName: 'balanceOf',
        args: [account],
      });
    expect(await balanceOf(chain.contracts.distributor)).toBe(paid);
    const wallet = wallets[2] as Address;
    const proof = epochProofSchema.parse(await (await fetch(`${serverUrl}/v1/epochs/1/proofs/${wallet}`)).json());
    const claimer = createWalletClient({
      chain: foundry,
      transport: http(chain.rpcUrl),
      account: privateKeyToAccount(anvilDevOperatorKey().privateKey),
    });
    const claim = await claimer.writeContract({
      address: chain.contracts.distributor,
      abi: distributorAbi,
      functionName: 'claim',
      args: [wallet, BigInt(proof.cumulativeAmount), proof.proof as Hex[]],
    });
    expect((await client.waitForTransactionReceipt({ hash: claim })).status).toBe('success');
    expect(await balanceOf(wallet)).toBe(BigInt(proof.cumulativeAmount));
    expect(BigInt(proof.cumulativeAmount)).toBeGreaterThan(0n);
  });

  it('publishes an epoch once however often it is run', async () => {
    printed.length = 0;
    expect(await publish()).toBe(0);
    expect(printed.join('')).toContain('Epoch 1 was already published');
    const client = createPublicClient({ transport: http(chain.rpcUrl) });
    const events = await client.getContractEvents({
      address: chain.contracts.distributor,
      abi: distributorAbi,
      eventName: 'EpochSet',
      fromBlock: 0n,
    });
    expect(events).toHaveLength(1);
  });

  it('refuses a root the public file does not give, and publishes the next epoch once it does', async () => {
    await creditPoints(db, await addDevice(db, wallets[0]), 7);
    const closed = await app.inject({
      method: 'POST',
      url: '/v1/admin/epochs/close',
      headers: { authorization: `Bearer ${testOperatorToken}` },
      payload: {},
    });
    expect(closed.json()).toMatchObject({ closed: true, epoch: { epoch: 2 } });
    const root = closed.json().epoch.root as string;
    // A server whose listing no longer matches the file it serves (a corrupted or altered row).
    const forged = `0x${'ab'.repeat(32)}`;
    await db.query('update epochs set root = $1 where number = 2', [forged]);
    await expect(publish()).rejects.toThrow(
      `The root recomputed from epoch 2's file is ${root}; the server lists ${forged} and the file says ${root}. Nothing was published.`,
    );
    const client = createPublicClient({ transport: http(chain.rpcUrl) });
    const current = () =>
      client.readContract({ address: chain.contracts.distributor, abi: distributorAbi, functionName: 'currentEpoch' });
    expect(await current()).toBe(1n);

    await db.query('update epochs set root = $1 where number = 2', [root]);
    printed.length = 0;
    expect(await publish()).toBe(0);
    expect(printed.join('')).toContain('Published epoch 2');
    expect(await current()).toBe(2n);
    // Funded for everything owed through epoch 2: its cumulative amounts minus what was claimed.
    const file = epochFileSchema.parse(await (await fetch(`${serverUrl}/v1/epochs/2/file`)).json());
    const owed = file.wallets.reduce((sum, wallet) => sum + BigInt(wallet.cumulative), 0n);
    const claimed = await client.readContract({
      address: chain.contracts.distributor,
      abi: distributorAbi,
      functionName: 'claimed',
      args: [wallets[2] as Address],
    });
    expect(
      await client.readContract({
        address: chain.contracts.token,
        abi: rewardTokenAbi,
        functionName: 'balanceOf',
        args: [chain.contracts.distributor],
      }),
    ).toBe(owed - claimed);
  });

  it('explains what is missing before sending anything', async () => {
    await expect(publish({ CHAIN_RPC_URL: chain.rpcUrl })).rejects.toThrow(
      'CHAIN_RPC_URL is set, so this also needs GLEANER_TOKEN_ADDRESS, GLEANER_DISTRIBUTOR_ADDRESS, GLEANER_REGISTRY_ADDRESS, GLEANER_OPERATOR_KEY.',
    );
    const elsewhere = path.join(chain.dataDir, 'elsewhere');
    await expect(publish({ GLEANER_DATA_DIR: elsewhere })).rejects.toThrow(
      `No local chain in ${path.join(elsewhere, 'chain', 'contracts.json')}: start the server (npm start)`,
    );
    const strangerKey = generatePrivateKey();
    const error: unknown = await publish({ GLEANER_DATA_DIR: chain.dataDir, GLEANER_OPERATOR_KEY: strangerKey }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    if (!(error instanceof Error)) throw new Error('a key that owns nothing published');
    expect(error.message).toContain(`its owner is ${anvilDevOperatorKey().address}`);
    expect(error.message).not.toContain(strangerKey.slice(2, 12));
  });
});
