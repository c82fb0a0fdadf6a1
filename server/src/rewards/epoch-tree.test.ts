import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { BaseError } from '@protocol/errors';
import { type Address, bytesToHex, getAddress } from 'viem';
import { describe, expect, it } from 'vitest';
import { buildEpochTree, type EpochEntry } from './epoch-tree';

const encoding = ['address', 'uint256'];
const maxUint256 = (1n << 256n) - 1n;

/**
 * Wallets of the 100k-leaf comparison. OpenZeppelin's library needs about 15 s for 100k leaves on these
 * machines and more under load, past the 30 s test timeout, so the suite compares 20k here and
 * `bench/epoch-tree.ts` compares all 100k (root and every proof) in every run;
 * GLEANER_EPOCH_TREE_TEST_WALLETS=100000 runs the full size here too.
 */
const largeWallets = Number(process.env.GLEANER_EPOCH_TREE_TEST_WALLETS) || 20_000;

/** A deterministic PRNG (mulberry32): the same entries on every run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct wallets with amounts from 0 to 2^256 - 1; some addresses checksummed, some lower case. */
function randomEntries(count: number, seed: number): EpochEntry[] {
  const next = random(seed);
  const byte = () => Math.floor(next() * 256);
  const entries: EpochEntry[] = [];
  const seen = new Set<string>();
  while (entries.length < count) {
    const lower = bytesToHex(Uint8Array.from({ length: 20 }, byte));
    if (seen.has(lower)) continue;
    seen.add(lower);
    const account: Address = next() < 0.5 ? getAddress(lower) : lower;
    // Mostly token-sized amounts (up to about 2^90), with the encoding's edges mixed in.
    const roll = next();
    const amount =
      roll < 0.05
        ? 0n
        : roll < 0.1
          ? maxUint256
          : roll < 0.15
            ? BigInt(bytesToHex(Uint8Array.from({ length: 32 }, byte)))
            : BigInt(Math.floor(next() * 2 ** 40)) * 10n ** 15n + BigInt(Math.floor(next() * 1e15));
    entries.push({ account, amount });
  }
  return entries;
}

function openZeppelinTree(entries: readonly EpochEntry[]) {
  return StandardMerkleTree.of(
    entries.map((entry) => [entry.account, entry.amount]),
    encoding,
  );
}

/** The library's dump with its bigint amounts as decimal strings, as ours writes them. */
function openZeppelinDump(tree: ReturnType<typeof openZeppelinTree>) {
  const dump = tree.dump();
  return {
    ...dump,
    values: dump.values.map(({ value, treeIndex }) => ({
      value: [value[0], (value[1] as bigint).toString()],
      treeIndex,
    })),
  };
}

function codeOf(build: () => unknown): string | undefined {
  try {
    build();
  } catch (error) {
    if (error instanceof BaseError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return undefined;
}

describe('buildEpochTree', () => {
  for (const size of [1, 2, 3, 7, 64, 1000]) {
    it(`gives OpenZeppelin's root, every proof and dump for ${size} wallets`, () => {
      const entries = randomEntries(size, size);
      const ours = buildEpochTree(entries);
      const theirs = openZeppelinTree(entries);
      expect(ours.root).toBe(theirs.root);
      expect(ours.length).toBe(size);
      for (const [index, entry] of entries.entries()) {
        const proof = theirs.getProof(index);
        expect(ours.proof(index), `proof ${index}`).toEqual(proof);
        expect(ours.proof(entry.account)).toEqual(proof);
        expect(ours.leafIndex(entry.account)).toBe(index);
      }
      // Same tree array and tree indexes: the layout, not only the root, is the library's.
      expect(ours.dump()).toEqual(openZeppelinDump(theirs));
    });
  }

  it(`gives OpenZeppelin's root and proofs for ${largeWallets.toLocaleString('en-US')} wallets (a sample of 50)`, () => {
    const entries = randomEntries(largeWallets, 100_000);
    const ours = buildEpochTree(entries);
    const theirs = openZeppelinTree(entries);
    expect(ours.root).toBe(theirs.root);
    const next = random(50);
    const sample = [0, largeWallets - 1, ...Array.from({ length: 48 }, () => Math.floor(next() * largeWallets))];
    for (const index of sample) {
      expect(ours.proof(index), `proof ${index}`).toEqual(theirs.getProof(index));
      expect(ours.proof((entries[index] as EpochEntry).account)).toEqual(theirs.getProof(index));
    }
  });

  it("loads in OpenZeppelin's StandardMerkleTree.load, which re-hashes every leaf and node", () => {
    const entries = randomEntries(300, 3);
    const ours = buildEpochTree(entries);
    const loaded = StandardMerkleTree.load(JSON.parse(JSON.stringify(ours.dump())));
    expect(loaded.root).toBe(ours.root);
    expect(loaded.getProof(17)).toEqual(ours.proof(17));
  });

  it("proves entries that StandardMerkleTree.verify accepts, and refuses a changed amount or someone else's proof", () => {
    const entries = randomEntries(257, 9);
    const ours = buildEpochTree(entries);
    for (const [index, { account, amount }] of entries.entries()) {
      const proof = ours.proof(account);
      expect(StandardMerkleTree.verify(ours.root, encoding, [account, amount], proof)).toBe(true);
      const changed = amount === maxUint256 ? amount - 1n : amount + 1n;
      expect(StandardMerkleTree.verify(ours.root, encoding, [account, changed], proof)).toBe(false);
      const other = entries[(index + 1) % entries.length] as EpochEntry;
      expect(StandardMerkleTree.verify(ours.root, encoding, [other.account, other.amount], proof)).toBe(false);
    }
    // One wei more for one wallet is another root.
    const raised = entries.map((entry, index) => (index === 100 ? { ...entry, amount: entry.amount + 1n } : entry));
    expect(buildEpochTree(raised).root).not.toBe(ours.root);
  });

  it('does not depend on the order of the entries, only on the set (the library sorts its leaves)', () => {
    const entries = randomEntries(100, 11);
    const reversed = [...entries].reverse();
    const ours = buildEpochTree(reversed);
    expect(ours.root).toBe(buildEpochTree(entries).root);
    expect(ours.proof((entries[5] as EpochEntry).account)).toEqual(buildEpochTree(entries).proof(5));
  });

  it('refuses a wallet listed twice, in any letter case: amounts are cumulative, one line per wallet', () => {
    const entries = randomEntries(10, 12);
    const first = entries[3] as EpochEntry;
    expect(codeOf(() => buildEpochTree([...entries, { ...first }]))).toMatch(
      /^bad_request: .* appears twice .*3 and 10/,
    );
    const otherCase = { account: first.account.toUpperCase().replace('0X', '0x') as Address, amount: 1n };
    expect(codeOf(() => buildEpochTree([...entries, otherCase]))).toMatch(/appears twice/);
  });

  it('refuses amounts outside uint256 and amounts that are not bigints', () => {
    const [entry] = randomEntries(1, 13) as [EpochEntry];
    expect(codeOf(() => buildEpochTree([{ ...entry, amount: -1n }]))).toMatch(/^bad_request: .*outside uint256/);
    expect(codeOf(() => buildEpochTree([{ ...entry, amount: maxUint256 + 1n }]))).toMatch(/outside uint256/);
    expect(codeOf(() => buildEpochTree([{ ...entry, amount: 5 as unknown as bigint }]))).toMatch(
      /must be a bigint, not number/,
    );
    expect(codeOf(() => buildEpochTree([{ ...entry, amount: maxUint256 }]))).toBeUndefined();
    expect(codeOf(() => buildEpochTree([{ ...entry, amount: 0n }]))).toBeUndefined();
  });

  it('refuses malformed addresses and an empty epoch', () => {
    for (const account of [
      '0x1234',
      `0x${'g'.repeat(40)}`,
      '1'.repeat(42),
      `0x${'a'.repeat(41)}`,
      ` 0x${'a'.repeat(40)}`,
    ]) {
      expect(
        codeOf(() => buildEpochTree([{ account: account as Address, amount: 1n }])),
        account,
      ).toMatch(/^bad_request: entry 0: .* is not an address/);
    }
    expect(codeOf(() => buildEpochTree([]))).toMatch(/^bad_request: an epoch tree needs at least one entry/);
  });

  it('answers not_found for a wallet or position that is not in the epoch', () => {
    const entries = randomEntries(5, 14);
    const tree = buildEpochTree(entries);
    expect(tree.leafIndex(`0x${'0'.repeat(40)}`)).toBeUndefined();
    expect(codeOf(() => tree.proof(`0x${'0'.repeat(40)}`))).toMatch(/^not_found: /);
    for (const index of [-1, 5, 1.5, Number.NaN])
      expect(
        codeOf(() => tree.proof(index)),
        String(index),
      ).toMatch(/^not_found: /);
    expect(tree.proof((entries[2] as EpochEntry).account.toLowerCase())).toEqual(tree.proof(2));
  });
});
