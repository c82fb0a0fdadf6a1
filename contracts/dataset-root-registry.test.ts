import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { type Abi, type Address, type Hex, keccak256, parseEventLogs, sha256, stringToHex, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractArtifact } from './compile';
import { revertOf, startTestChain, type TestChain } from './test-chain';

let chain: TestChain;
let operator: Address;
let stranger: Address;
let registryAbi: Abi;

beforeAll(async () => {
  registryAbi = (await contractArtifact('DatasetRootRegistry')).abi;
  chain = await startTestChain();
  [operator, stranger] = chain.accounts as [Address, Address];
});

afterAll(async () => {
  await chain?.anvil.stop();
});

/** A dataset id as the registry keys it: the UUID's 16 bytes. */
function datasetKey(uuid: string): Hex {
  return `0x${uuid.replaceAll('-', '').toLowerCase()}`;
}

/** Rows hashed and tree-built as protocol/datasets.ts describes: StandardMerkleTree leaves of type bytes32. */
function rowTree(rows: object[]) {
  const rowHashes = rows.map((row) => keccak256(stringToHex(JSON.stringify(row))));
  return StandardMerkleTree.of(
    rowHashes.map((rowHash) => [rowHash]),
    ['bytes32'],
  );
}

async function deployRegistry() {
  const registry = await chain.deploy('DatasetRootRegistry', [operator]);
  const read = (functionName: string, args: readonly unknown[]) =>
    chain.publicClient.readContract({ address: registry, abi: registryAbi, functionName, args });
  const simulateRegister = (args: readonly unknown[], from: Address = operator) =>
    chain.publicClient.simulateContract({
      address: registry,
      abi: registryAbi,
      functionName: 'register',
      args,
      account: from,
    });
  const register = async (args: readonly unknown[]) =>
    chain.mined(
      await chain.walletClient.writeContract({
        address: registry,
        abi: registryAbi,
        functionName: 'register',
        args,
        account: operator,
        chain: null,
      }),
    );
  return { registry, read, simulateRegister, register };
}

const datasetId = datasetKey('0F8A2C4E-7B1D-4E5F-9A3B-6C2D1E0F4A5B');
const rows = [
  { url: 'https://example.org/a', text: 'first page' },
  { url: 'https://example.org/b', text: 'second page' },
  { url: 'https://example.org/c', text: 'third page' },
];
const cardSha256 = sha256(stringToHex('# dataset card\n'));

describe('DatasetRootRegistry', () => {
  it("commits a dataset's root, row count and card hash that anyone reads back and proves rows against", async () => {
    const { read, register } = await deployRegistry();
    const tree = rowTree(rows);
    expect(await read('isRegistered', [datasetId])).toBe(false);

    const receipt = await register([datasetId, tree.root, BigInt(rows.length), cardSha256]);

    const block = await chain.publicClient.getBlock({ blockNumber: receipt.blockNumber });
    const committed = (await read('datasetOf', [datasetId])) as { merkleRoot: Hex };
    expect(committed).toEqual({
      merkleRoot: tree.root,
      cardSha256,
      rowCount: BigInt(rows.length),
      registeredAt: block.timestamp,
    });
    expect(await read('isRegistered', [datasetId])).toBe(true);
    const [event] = parseEventLogs({ abi: registryAbi, logs: receipt.logs, eventName: 'DatasetRegistered' });
    expect(event?.args).toEqual({ datasetId, merkleRoot: tree.root, rowCount: 3n, cardSha256 });

    // A buyer checks a row's inclusion against the root read from the chain, not the one the server sent.
    const [rowHash] = [...tree.entries()][1]?.[1] ?? [];
    expect(StandardMerkleTree.verify(committed.merkleRoot, ['bytes32'], [rowHash], tree.getProof(1))).toBe(true);
    const [otherRowHash] = rowTree([{ url: 'https://example.org/b', text: 'altered page' }]).at(0) ?? [];
    expect(StandardMerkleTree.verify(committed.merkleRoot, ['bytes32'], [otherRowHash], tree.getProof(1))).toBe(false);
  });

  it('refuses to register the same dataset twice, even with the same root, and keeps the first commit', async () => {
    const { read, register, simulateRegister } = await deployRegistry();
    const tree = rowTree(rows);
    await register([datasetId, tree.root, 3n, cardSha256]);

    const otherRoot = rowTree(rows.slice(1)).root;
    for (const root of [otherRoot, tree.root]) {
      const again = await revertOf(simulateRegister([datasetId, root, 2n, cardSha256]));
      expect(again).toEqual({ errorName: 'DatasetAlreadyRegistered', args: [datasetId] });
    }
    expect(await read('datasetOf', [datasetId])).toMatchObject({ merkleRoot: tree.root, rowCount: 3n });

    // Another dataset id is independent.
    const secondId = datasetKey('11111111-2222-4333-8444-555555555555');
    await register([secondId, otherRoot, 2n, cardSha256]);
    expect(await read('datasetOf', [secondId])).toMatchObject({ merkleRoot: otherRoot, rowCount: 2n });
  });

  it('lets only the operator register, needs a root, and says when a dataset was never registered', async () => {
    const { read, simulateRegister } = await deployRegistry();
    const root = rowTree(rows).root;

    const byStranger = await revertOf(simulateRegister([datasetId, root, 3n, cardSha256], stranger));
    expect(byStranger).toEqual({ errorName: 'OwnableUnauthorizedAccount', args: [stranger] });
    const noRoot = await revertOf(simulateRegister([datasetId, toHex(0, { size: 32 }), 3n, cardSha256]));
    expect(noRoot.errorName).toBe('EmptyRoot');
    const unknown = await revertOf(read('datasetOf', [datasetId]));
    expect(unknown).toEqual({ errorName: 'DatasetNotRegistered', args: [datasetId] });
  });
});
