import { type FileHandle, open } from 'node:fs/promises';
import { bytesToHex, type Hex, hexToBytes, keccak256, zeroHash } from 'viem';

/**
 * A dataset's Merkle tree over its rows, built on disk as rows are written, so a 1M-row dataset never holds
 * its tree in memory, and read back a few nodes at a time to prove one row.
 *
 * Leaves are OpenZeppelin StandardMerkleTree leaves for the value `[rowHash]` of type `bytes32`:
 * keccak256(keccak256(abi.encode(rowHash))), and abi.encode of a bytes32 is its 32 bytes. Internal nodes hash
 * their two children sorted (OpenZeppelin MerkleProof's commutative hash). Unlike StandardMerkleTree.of,
 * leaves stay in ROW ORDER and the tree is built level by level: level 0 is the leaves, each next level
 * pairs nodes (0,1), (2,3), … of the previous one, and an odd last node is carried up unchanged. The proof
 * of row n is then the siblings of its path, bottom up, skipping levels where its node has no sibling;
 * OpenZeppelin's `StandardMerkleTree.verify(root, ['bytes32'], [rowHash], proof)` and Solidity's
 * `MerkleProof.verify(proof, root, leaf)` both check it.
 *
 * The empty dataset's root is `emptyTreeRoot`, 32 zero bytes: no leaf hashes to it, so nothing verifies.
 *
 * Tree file (little endian):
 *   bytes 0-7     magic `GLMERKLE`
 *   bytes 8-11    format version, 1
 *   bytes 12-15   number of levels L (0 for no rows; 1 for one row, whose leaf is the root)
 *   bytes 16-527  64 slots of u64: the number of nodes of level 0 … L-1 (the rest 0)
 *   then levels 0 … L-1, each its nodes in order, 32 bytes per node; the last level is the root alone.
 * The header has a fixed size so that leaves can be written at their final place as they come, and a
 * reader gets every level's offset with one read.
 */

/** The root of a dataset without rows. */
export const emptyTreeRoot: Hex = zeroHash;

const magic = Buffer.from('GLMERKLE', 'latin1');
const formatVersion = 1;
/** 2^64 leaves are more than any dataset: 64 level slots always suffice. */
const maxLevels = 64;
/** Bytes of the tree file's header. */
export const treeHeaderBytes = 16 + maxLevels * 8;
const nodeBytes = 32;
/** Leaves buffered before a write; also the nodes read per pass when building a level (an even number). */
const chunkNodes = 8192;

/** Reads `length` bytes of the tree file from `offset`: a local file, or object storage with a Range. */
export type TreeRead = (offset: number, length: number) => Promise<Uint8Array>;

/** The leaf that commits to a row: OpenZeppelin's standard leaf of `[rowHash]` as `bytes32`. */
export function rowLeaf(rowHash: Hex | Uint8Array): Hex {
  return bytesToHex(leafBytes(toBytes32(rowHash)));
}

/** Whether `proof` shows that the row with this hash is a leaf of the tree with this root. */
export function verifyRowProof(rowHash: Hex | Uint8Array, proof: readonly Hex[], root: Hex): boolean {
  let node = leafBytes(toBytes32(rowHash));
  for (const sibling of proof) node = pairHash(node, toBytes32(sibling));
  return bytesToHex(node) === root.toLowerCase();
}

/** The number of nodes on each level of a tree over `leaves` leaves, leaves first, root last. */
export function levelSizes(leaves: number): number[] {
  if (leaves === 0) return [];
  const sizes = [leaves];
  while ((sizes.at(-1) as number) > 1) sizes.push(Math.ceil((sizes.at(-1) as number) / 2));
  return sizes;
}

/** Builds a dataset's tree file: `create(path)`, `append(rowHash)` for each row in order, then `finish()`. */
export class MerkleTreeBuilder {
  private readonly buffer = Buffer.allocUnsafe(chunkNodes * nodeBytes);
  private buffered = 0;
  private count = 0;
  private finished = false;

  private constructor(
    private readonly file: FileHandle,
    /** Where the tree file is written. */
    readonly path: string,
  ) {}

  /** Starts a tree file at `path` (replacing any file there). */
  static async create(path: string): Promise<MerkleTreeBuilder> {
    return new MerkleTreeBuilder(await open(path, 'w+'), path);
  }

  /** Rows appended so far. */
  get leaves(): number {
    return this.count;
  }

  /** Adds the next row's leaf; writes to the file once a chunk of leaves is buffered. */
  async append(rowHash: Hex | Uint8Array): Promise<void> {
    if (this.finished) throw new Error('the Merkle tree is finished: no more rows can be appended');
    this.buffer.set(leafBytes(toBytes32(rowHash)), this.buffered * nodeBytes);
    this.buffered += 1;
    this.count += 1;
    if (this.buffered === chunkNodes) await this.flush();
  }

  /**
   * Computes the levels above the leaves, each in one streaming pass over the level below (memory: two
   * chunks), writes the header, closes the file and returns the root.
   */
  async finish(): Promise<{ root: Hex; leaves: number; bytes: number }> {
    if (this.finished) throw new Error('the Merkle tree is already finished');
    this.finished = true;
    try {
      await this.flush();
      const sizes = levelSizes(this.count);
      const header = Buffer.alloc(treeHeaderBytes);
      magic.copy(header, 0);
      header.writeUInt32LE(formatVersion, 8);
      header.writeUInt32LE(sizes.length, 12);
      for (const [level, size] of sizes.entries()) header.writeBigUInt64LE(BigInt(size), 16 + level * 8);
      await this.file.write(header, 0, header.length, 0);
      let below = treeHeaderBytes;
      for (let level = 1; level < sizes.length; level += 1) {
        const above = below + (sizes[level - 1] as number) * nodeBytes;
        await this.writeLevel(below, sizes[level - 1] as number, above);
        below = above;
      }
      const root = sizes.length === 0 ? emptyTreeRoot : bytesToHex(await readExactly(this.file, below, nodeBytes));
      const bytes = below + (sizes.length === 0 ? 0 : nodeBytes);
      return { root, leaves: this.count, bytes };
    } finally {
      await this.file.close();
    }
  }

  /** Closes the file without finishing (the caller removes it). */
  async abort(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.file.close();
  }

  private async flush(): Promise<void> {
    if (this.buffered === 0) return;
    const written = this.count - this.buffered;
    await this.file.write(this.buffer, 0, this.buffered * nodeBytes, treeHeaderBytes + written * nodeBytes);
    this.buffered = 0;
  }

  /** Writes at `to` the level above the `size` nodes found at `from`. */
  private async writeLevel(from: number, size: number, to: number): Promise<void> {
    const parents = Buffer.allocUnsafe((chunkNodes / 2) * nodeBytes);
    let written = 0;
    for (let start = 0; start < size; start += chunkNodes) {
      const nodes = Math.min(chunkNodes, size - start);
      const chunk = await readExactly(this.file, from + start * nodeBytes, nodes * nodeBytes);
      let made = 0;
      for (let i = 0; i < nodes; i += 2) {
        const left = chunk.subarray(i * nodeBytes, (i + 1) * nodeBytes);
        // An odd last node has no sibling: it goes up unchanged.
        const parent = i + 1 < nodes ? pairHash(left, chunk.subarray((i + 1) * nodeBytes, (i + 2) * nodeBytes)) : left;
        parents.set(parent, made * nodeBytes);
        made += 1;
      }
      await this.file.write(parents, 0, made * nodeBytes, to + written * nodeBytes);
      written += made;
    }
  }
}

/** What `proofFromTree` returns: enough for anyone to check row n against the root. */
export interface TreeProof {
  leaf: Hex;
  /** Siblings from the leaf's level up. */
  proof: Hex[];
  root: Hex;
  /** Rows in the tree. */
  leaves: number;
}

/**
 * The inclusion proof of row `n` (0-based) from a tree file, reading only its header, the leaf, the
 * sibling on each level and the root (all but the header in parallel: one round trip for object storage).
 */
export async function proofFromTree(read: TreeRead, n: number): Promise<TreeProof> {
  const sizes = parseHeader(await readChecked(read, 0, treeHeaderBytes));
  const leaves = sizes[0] ?? 0;
  if (!Number.isSafeInteger(n) || n < 0 || n >= leaves) {
    throw new RangeError(`row ${n} is not in the tree: it has ${leaves} rows`);
  }
  const offsets: number[] = [];
  let offset = treeHeaderBytes;
  for (const size of sizes) {
    offsets.push(offset);
    offset += size * nodeBytes;
  }
  const node = (level: number, index: number) =>
    readChecked(read, (offsets[level] as number) + index * nodeBytes, nodeBytes).then(bytesToHex);
  const siblings: Promise<Hex>[] = [];
  for (let level = 0, index = n; level < sizes.length - 1; level += 1, index = Math.floor(index / 2)) {
    const sibling = index ^ 1;
    if (sibling < (sizes[level] as number)) siblings.push(node(level, sibling));
  }
  const [leaf, root, ...proof] = await Promise.all([node(0, n), node(sizes.length - 1, 0), ...siblings]);
  return { leaf: leaf as Hex, root: root as Hex, proof, leaves };
}

/** The root stored in a tree file (`emptyTreeRoot` for a tree without rows). */
export async function rootFromTree(read: TreeRead): Promise<Hex> {
  const sizes = parseHeader(await readChecked(read, 0, treeHeaderBytes));
  if (sizes.length === 0) return emptyTreeRoot;
  const rootOffset = treeHeaderBytes + (sizes.reduce((sum, size) => sum + size, 0) - 1) * nodeBytes;
  return bytesToHex(await readChecked(read, rootOffset, nodeBytes));
}

/** A `TreeRead` over a local tree file, and how to close it. */
export async function openTreeFile(path: string): Promise<{ read: TreeRead; close: () => Promise<void> }> {
  const file = await open(path, 'r');
  return { read: (offset, length) => readExactly(file, offset, length), close: () => file.close() };
}

function parseHeader(header: Uint8Array): number[] {
  const view = Buffer.from(header.buffer, header.byteOffset, header.byteLength);
  if (!view.subarray(0, 8).equals(magic) || view.readUInt32LE(8) !== formatVersion) {
    throw new Error('not a Gleaner Merkle tree file (version 1)');
  }
  const levels = view.readUInt32LE(12);
  if (levels > maxLevels) throw new Error(`a Merkle tree file cannot have ${levels} levels`);
  const sizes = Array.from({ length: levels }, (_, level) => Number(view.readBigUInt64LE(16 + level * 8)));
  const expected = levelSizes(sizes[0] ?? 0);
  if (sizes.some((size, level) => size !== expected[level])) throw new Error('the Merkle tree file header is corrupt');
  return sizes;
}

async function readChecked(read: TreeRead, offset: number, length: number): Promise<Uint8Array> {
  const bytes = await read(offset, length);
  if (bytes.length !== length) {
    throw new Error(`the Merkle tree file is truncated: read ${bytes.length} of ${length} bytes at ${offset}`);
  }
  return bytes;
}

async function readExactly(file: FileHandle, offset: number, length: number): Promise<Buffer> {
  const bytes = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(bytes, done, length - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return bytes.subarray(0, done);
}

function toBytes32(value: Hex | Uint8Array): Uint8Array {
  const bytes = typeof value === 'string' ? hexToBytes(value) : value;
  if (bytes.length !== nodeBytes) throw new Error(`a row hash has 32 bytes, not ${bytes.length}`);
  return bytes;
}

/** Bytes in, bytes out: viem's keccak256 on bytes skips the hex round trips that would double its cost. */
function leafBytes(rowHash: Uint8Array): Uint8Array {
  return keccak256(keccak256(rowHash, 'bytes'), 'bytes');
}

const pair = new Uint8Array(2 * nodeBytes);

/** keccak256 of the two nodes, smaller first (compared as unsigned 256-bit numbers, as Solidity does). */
function pairHash(a: Uint8Array, b: Uint8Array): Uint8Array {
  const aFirst = Buffer.compare(a, b) <= 0;
  pair.set(aFirst ? a : b, 0);
  pair.set(aFirst ? b : a, nodeBytes);
  return keccak256(pair, 'bytes');
}
