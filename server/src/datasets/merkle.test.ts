import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { type PageRow, rowHash } from '@protocol/dataset-rows';
import { type Hex, keccak256, stringToBytes } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  emptyTreeRoot,
  levelSizes,
  MerkleTreeBuilder,
  openTreeFile,
  proofFromTree,
  rootFromTree,
  rowLeaf,
  type TreeRead,
  treeHeaderBytes,
  verifyRowProof,
} from './merkle';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gleaner-merkle-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function pageRow(i: number): PageRow {
  return {
    url: `https://example.org/page/${i}`,
    final_url: `https://example.org/page/${i}`,
    fetched_at: '2026-11-28T12:00:00.000Z',
    http_status: 200,
    content_type: 'text/html',
    language: 'en',
    title: `Page ${i}`,
    text: `The text of page ${i}.`,
    word_count: 5,
    text_sha256: '0'.repeat(64),
    near_dup_cluster: null,
    raw_html: null,
    contributor: 'c1',
    verification: 'verified',
  };
}

const rowsOf = (count: number) => Array.from({ length: count }, (_, i) => pageRow(i));

async function buildTree(name: string, hashes: readonly Hex[]) {
  const builder = await MerkleTreeBuilder.create(join(dir, name));
  for (const hash of hashes) await builder.append(hash);
  return { path: builder.path, ...(await builder.finish()) };
}

/** Proofs for every row, read through the file the way the route will. */
async function allProofs(path: string, count: number) {
  const tree = await openTreeFile(path);
  try {
    return await Promise.all(Array.from({ length: count }, (_, n) => proofFromTree(tree.read, n)));
  } finally {
    await tree.close();
  }
}

describe('Merkle tree of a dataset', () => {
  it.each([1, 2, 3, 5, 8, 1000, 1025])(
    'proves each of %i rows with OpenZeppelin StandardMerkleTree.verify',
    async (count) => {
      const hashes = rowsOf(count).map((row) => rowHash('pages', row));
      const tree = await buildTree(`tree-${count}`, hashes);
      expect(tree.leaves).toBe(count);
      const proofs = await allProofs(tree.path, count);
      const depth = levelSizes(count).length - 1;
      for (const [n, proof] of proofs.entries()) {
        expect(proof.root).toBe(tree.root);
        expect(proof.leaves).toBe(count);
        expect(proof.leaf).toBe(rowLeaf(hashes[n] as Hex));
        expect(proof.proof.length).toBeLessThanOrEqual(depth);
        expect(StandardMerkleTree.verify(tree.root, ['bytes32'], [hashes[n]], proof.proof)).toBe(true);
        expect(verifyRowProof(hashes[n] as Hex, proof.proof, tree.root)).toBe(true);
      }
    },
  );

  it('computes the leaf exactly as OpenZeppelin does', () => {
    const hash = rowHash('pages', pageRow(7));
    const reference = StandardMerkleTree.of([[hash]], ['bytes32']);
    expect(rowLeaf(hash)).toBe(reference.leafHash([hash]));
    // One leaf: the root is the leaf itself, for both.
    expect(reference.root).toBe(rowLeaf(hash));
  });

  it.each([2, 8, 64])('gives the same root as OpenZeppelin for a full tree of %i rows', async (count) => {
    // OpenZeppelin's layout differs from ours for other sizes, but with whole levels both pair the same
    // leaves (it stores them reversed; the pair hash is commutative), so the roots must agree.
    const hashes = rowsOf(count).map((row) => rowHash('pages', row));
    const tree = await buildTree(`full-${count}`, hashes);
    const reference = StandardMerkleTree.of(
      hashes.map((hash) => [hash]),
      ['bytes32'],
      { sortLeaves: false },
    );
    expect(tree.root).toBe(reference.root);
  });

  it('refuses a tampered row: one changed value gives another hash that no proof carries', async () => {
    const rows = rowsOf(5);
    const hashes = rows.map((row) => rowHash('pages', row));
    const tree = await buildTree('tampered', hashes);
    const [proof] = await allProofs(tree.path, 1);
    const tampered = { ...(rows[0] as PageRow), http_status: 404 };
    const tamperedHash = rowHash('pages', tampered);
    expect(tamperedHash).not.toBe(hashes[0]);
    expect(StandardMerkleTree.verify(tree.root, ['bytes32'], [tamperedHash], proof?.proof ?? [])).toBe(false);
    expect(verifyRowProof(tamperedHash, proof?.proof ?? [], tree.root)).toBe(false);
  });

  it("refuses a row with another row's proof", async () => {
    const hashes = rowsOf(1025).map((row) => rowHash('pages', row));
    const tree = await buildTree('other-index', hashes);
    const proofs = await allProofs(tree.path, 1025);
    for (const [n, m] of [
      [0, 1],
      [1, 0],
      [3, 2],
      [1024, 1023],
      [512, 17],
    ] as const) {
      expect(StandardMerkleTree.verify(tree.root, ['bytes32'], [hashes[n]], proofs[m]?.proof ?? [])).toBe(false);
      expect(verifyRowProof(hashes[n] as Hex, proofs[m]?.proof ?? [], tree.root)).toBe(false);
    }
  });

  it('defines the empty dataset: zero root, a header-only file, and no row to prove', async () => {
    const tree = await buildTree('empty', []);
    expect(tree.root).toBe(emptyTreeRoot);
    expect(tree.leaves).toBe(0);
    expect((await stat(tree.path)).size).toBe(treeHeaderBytes);
    const file = await openTreeFile(tree.path);
    try {
      expect(await rootFromTree(file.read)).toBe(emptyTreeRoot);
      await expect(proofFromTree(file.read, 0)).rejects.toThrow(RangeError);
    } finally {
      await file.close();
    }
    // Nothing verifies against the zero root, not even a zero row hash.
    expect(verifyRowProof(emptyTreeRoot, [], emptyTreeRoot)).toBe(false);
  });

  it('reads only the header and one node per level for a proof', async () => {
    const count = 20_000;
    const hashes = Array.from({ length: count }, (_, i) => keccak256(stringToBytes(`row ${i}`)));
    const tree = await buildTree('reads', hashes);
    expect(tree.bytes).toBe((await stat(tree.path)).size);
    const bytes = await readFile(tree.path);
    const reads: Array<[number, number]> = [];
    const read: TreeRead = async (offset, length) => {
      reads.push([offset, length]);
      return bytes.subarray(offset, offset + length);
    };
    expect(await rootFromTree(read)).toBe(tree.root);
    reads.length = 0;
    const n = 12_345;
    const proof = await proofFromTree(read, n);
    expect(StandardMerkleTree.verify(tree.root, ['bytes32'], [hashes[n]], proof.proof)).toBe(true);
    // Header, leaf, root and at most one sibling per level below the root.
    expect(reads.length).toBeLessThanOrEqual(3 + levelSizes(count).length - 1);
    expect(reads.slice(1).every(([, length]) => length === 32)).toBe(true);
  });

  it('refuses out-of-range rows, a truncated file and a file that is not a tree', async () => {
    const hashes = rowsOf(10).map((row) => rowHash('pages', row));
    const tree = await buildTree('broken', hashes);
    const bytes = await readFile(tree.path);
    const over = async (data: Uint8Array): Promise<TreeRead> => {
      return async (offset, length) => data.subarray(offset, offset + length);
    };
    const whole = await over(bytes);
    await expect(proofFromTree(whole, 10)).rejects.toThrow(RangeError);
    await expect(proofFromTree(whole, -1)).rejects.toThrow(RangeError);
    await expect(proofFromTree(whole, 1.5)).rejects.toThrow(RangeError);
    await expect(proofFromTree(await over(bytes.subarray(0, bytes.length - 32)), 3)).rejects.toThrow(/truncated/);
    const notTree = Buffer.from(bytes);
    notTree.write('NOTATREE', 0, 'latin1');
    await expect(proofFromTree(await over(notTree), 3)).rejects.toThrow(/not a Gleaner Merkle tree/);
    const badSizes = Buffer.from(bytes);
    badSizes.writeBigUInt64LE(7n, 24);
    await expect(proofFromTree(await over(badSizes), 3)).rejects.toThrow(/corrupt/);
  });

  it('refuses a row hash that is not 32 bytes and rows after finish', async () => {
    const builder = await MerkleTreeBuilder.create(join(dir, 'misuse'));
    await expect(builder.append('0x1234')).rejects.toThrow(/32 bytes/);
    await builder.finish();
    await expect(builder.append(emptyTreeRoot)).rejects.toThrow(/finished/);
  });

  it('overwrites an earlier file at the same path', async () => {
    const path = join(dir, 'reused');
    await writeFile(path, Buffer.alloc(100_000, 1));
    const hashes = rowsOf(3).map((row) => rowHash('pages', row));
    const builder = await MerkleTreeBuilder.create(path);
    for (const hash of hashes) await builder.append(hash);
    const { root, bytes } = await builder.finish();
    expect((await stat(path)).size).toBe(bytes);
    const [proof] = await allProofs(path, 1);
    expect(StandardMerkleTree.verify(root, ['bytes32'], [hashes[0]], proof?.proof ?? [])).toBe(true);
  });
});
