import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultChainId } from '@protocol/signing';
import {
  type Address,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  keccak256,
  type PublicClient,
  parseEther,
  sha256,
  stringToHex,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount, privateKeyToAddress } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEpochTree, type EpochEntry } from '../rewards/epoch-tree';
import { anvilDevOperatorKey } from './chain-settings';
import { type LocalChain, startLocalChain } from './local-chain';
import { connectOperatorChain, type OperatorChain, type OperatorChainSettings } from './operator-chain';
import { distributorAbi, registryAbi, rewardTokenAbi } from './reward-abis';

let dataDir: string;
let chain: LocalChain;
let settings: OperatorChainSettings;
let operator: OperatorChain;
let client: PublicClient;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'gleaner-operator-chain-'));
  const operatorKey = anvilDevOperatorKey();
  chain = await startLocalChain({ dataDir, chainId: defaultChainId, operatorKey, port: null, publicRpcUrl: null });
  settings = { rpcUrl: chain.rpcUrl, chainId: defaultChainId, operatorKey, contracts: chain.contracts };
  operator = await connectOperatorChain(settings);
  client = createPublicClient({ chain: foundry, transport: http(chain.rpcUrl), pollingInterval: 50 });
});
afterAll(async () => {
  await chain?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const token = (whole: number) => parseEther(String(whole));
const wallets = [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()].map((key) =>
  privateKeyToAddress(key),
);
const contentId = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';

const balanceOf = (account: Address) =>
  client.readContract({
    address: chain.contracts.token,
    abi: rewardTokenAbi,
    functionName: 'balanceOf',
    args: [account],
  });

async function epochSetEvents() {
  return client.getContractEvents({
    address: chain.contracts.distributor,
    abi: distributorAbi,
    eventName: 'EpochSet',
    fromBlock: 0n,
  });
}

function epoch(entries: EpochEntry[]) {
  const tree = buildEpochTree(entries);
  return { tree, cumulativeTotal: entries.reduce((sum, entry) => sum + entry.amount, 0n) };
}

describe('operator chain', () => {
  const first = epoch([
    { account: wallets[0] as Address, amount: token(500) },
    { account: wallets[1] as Address, amount: token(300) },
    { account: wallets[2] as Address, amount: token(200) },
  ]);

  it('funds the distributor and sets the root once; publishing again reports the first transaction', async () => {
    const published = await operator.publishEpoch({
      epoch: 1,
      root: first.tree.root,
      contentId,
      cumulativeTotal: first.cumulativeTotal,
    });
    expect(published).toMatchObject({ alreadyPublished: false, minted: token(1000) });
    const again = await operator.publishEpoch({
      epoch: 1,
      root: first.tree.root,
      contentId,
      cumulativeTotal: first.cumulativeTotal,
    });
    expect(again).toEqual({ tx: published.tx, alreadyPublished: true, minted: 0n });

    const events = await epochSetEvents();
    expect(events.map((event) => [event.args.epoch, event.transactionHash])).toEqual([[1n, published.tx]]);
    expect(await balanceOf(chain.contracts.distributor)).toBe(token(1000));
    const onChain = await client.readContract({
      address: chain.contracts.distributor,
      abi: distributorAbi,
      functionName: 'epochOf',
      args: [1n],
    });
    expect(onChain).toEqual({ root: first.tree.root, contentId });
  });

  it('pays a claim made with a proof from the tree', async () => {
    const payer = createWalletClient({
      chain: foundry,
      transport: http(chain.rpcUrl),
      account: privateKeyToAccount(settings.operatorKey.privateKey),
    });
    const account = wallets[1] as Address;
    const hash = await payer.writeContract({
      address: chain.contracts.distributor,
      abi: distributorAbi,
      functionName: 'claim',
      args: [account, token(300), first.tree.proof(account)],
    });
    expect((await client.waitForTransactionReceipt({ hash })).status).toBe('success');
    expect(await balanceOf(account)).toBe(token(300));
  });

  it('mints only what is missing when a run stopped between the mint and setEpoch', async () => {
    const second = epoch([
      { account: wallets[0] as Address, amount: token(900) },
      { account: wallets[1] as Address, amount: token(500) },
      { account: wallets[2] as Address, amount: token(600) },
    ]);
    // The cut run: epoch 2's 1,000 tokens minted, its root never set.
    const minter = createWalletClient({
      chain: foundry,
      transport: http(chain.rpcUrl),
      account: privateKeyToAccount(settings.operatorKey.privateKey),
    });
    await client.waitForTransactionReceipt({
      hash: await minter.writeContract({
        address: chain.contracts.token,
        abi: rewardTokenAbi,
        functionName: 'mint',
        args: [chain.contracts.distributor, token(1000)],
      }),
    });

    const published = await operator.publishEpoch({
      epoch: 2,
      root: second.tree.root,
      contentId,
      cumulativeTotal: second.cumulativeTotal,
    });
    expect(published).toMatchObject({ alreadyPublished: false, minted: 0n });
    // 2,000 owed in all, 300 of it claimed.
    expect(await balanceOf(chain.contracts.distributor)).toBe(token(1700));
  });

  it('refuses another root for an epoch already on chain', async () => {
    const other = epoch([{ account: wallets[0] as Address, amount: token(1) }]);
    await expect(
      operator.publishEpoch({ epoch: 1, root: other.tree.root, contentId, cumulativeTotal: 1n }),
    ).rejects.toMatchObject({
      code: 'conflict',
      message: `Epoch 1 is on chain with root ${first.tree.root}, not ${other.tree.root}; a published root cannot change.`,
    });
  });

  it("commits a dataset's root once and reads it back", async () => {
    const datasetId = '0F8A2C4E-7B1D-4E5F-9A3B-6C2D1E0F4A5B';
    const root = keccak256(stringToHex('rows'));
    const cardSha256 = sha256(stringToHex('# card\n')).slice(2);
    const committed = await operator.commitDatasetRoot({ datasetId, root, rowCount: 42, cardSha256 });
    expect(committed.alreadyCommitted).toBe(false);

    const key: Hex = '0x0f8a2c4e7b1d4e5f9a3b6c2d1e0f4a5b';
    const stored = await client.readContract({
      address: chain.contracts.registry,
      abi: registryAbi,
      functionName: 'datasetOf',
      args: [key],
    });
    expect(stored).toMatchObject({ merkleRoot: root, rowCount: 42n, cardSha256: `0x${cardSha256}` });

    expect(await operator.commitDatasetRoot({ datasetId, root, rowCount: 42, cardSha256 })).toEqual({
      tx: committed.tx,
      alreadyCommitted: true,
    });
    await expect(
      operator.commitDatasetRoot({ datasetId, root: keccak256(stringToHex('other')), rowCount: 42, cardSha256 }),
    ).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('a committed root is final') });
  });

  it('refuses a key that does not own the contracts, naming the owner and never the key', async () => {
    const stranger = generatePrivateKey();
    const error: unknown = await connectOperatorChain({
      ...settings,
      operatorKey: { privateKey: stranger, address: privateKeyToAddress(stranger), source: 'GLEANER_OPERATOR_KEY' },
    }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    if (!(error instanceof Error)) throw new Error('a stranger key was accepted');
    expect(error.message).toContain(`its owner is ${settings.operatorKey.address}`);
    expect(error.message).not.toContain(stranger.slice(2, 12));
  });

  it('says no chain answered when nothing listens at the RPC URL', async () => {
    await expect(
      connectOperatorChain({ ...settings, rpcUrl: 'http://user:secret@127.0.0.1:9/?key=secret' }),
    ).rejects.toMatchObject({
      code: 'server_unreachable',
      message: expect.not.stringContaining('secret'),
    });
  });
});
