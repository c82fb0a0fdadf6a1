import { createHash } from 'node:crypto';
import { type Address, bytesToHex } from 'viem';

/**
 * One epoch close in its own process, so its peak RSS is its own: `ours <wallets>`, `openzeppelin <wallets>`
 * or `idle`. Both sides get the same deterministic wallets and do the same work on the clock: build the
 * tree, make every wallet's proof (kept, as a close that publishes them would), and serialize the epoch
 * file's tree in `StandardMerkleTree.load`'s format. Each child imports only its own library, before the
 * clock starts. Prints one JSON line: { wallets, ms, buildMs, proofsMs, fileMs, fileBytes, maxRssMb, root,
 * proofsSha256, fileSha256 }; the hashes (taken off the clock) let the parent check that both sides made
 * the same root, proofs and file.
 */

/** A deterministic PRNG (mulberry32): the same wallets on every run and in every process. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct wallets with cumulative amounts of up to about a million tokens of 18 decimals. */
function syntheticWallets(count: number): Array<{ account: Address; amount: bigint }> {
  const next = random(2026);
  const seen = new Set<string>();
  const wallets: Array<{ account: Address; amount: bigint }> = [];
  while (wallets.length < count) {
    const account = bytesToHex(Uint8Array.from({ length: 20 }, () => Math.floor(next() * 256)));
    if (seen.has(account)) continue;
    seen.add(account);
    wallets.push({
      account,
      amount: BigInt(Math.floor(next() * 1e6)) * 10n ** 18n + BigInt(Math.floor(next() * 1e15)),
    });
  }
  return wallets;
}

interface Close {
  root: string;
  proofs: string[][];
  file: string;
  buildMs: number;
  proofsMs: number;
  fileMs: number;
}

async function closeOurs(wallets: Array<{ account: Address; amount: bigint }>): Promise<Close> {
  const { buildEpochTree } = await import('../server/src/rewards/epoch-tree');
  const start = performance.now();
  const tree = buildEpochTree(wallets);
  const root = tree.root;
  const built = performance.now();
  const proofs = wallets.map((_, index) => tree.proof(index));
  const proved = performance.now();
  const file = JSON.stringify(tree.dump());
  const done = performance.now();
  return { root, proofs, file, buildMs: built - start, proofsMs: proved - built, fileMs: done - proved };
}

async function closeOpenZeppelin(wallets: Array<{ account: Address; amount: bigint }>): Promise<Close> {
  const { StandardMerkleTree } = await import('@openzeppelin/merkle-tree');
  // Amounts as decimal strings (the library encodes them alike) so its dump is JSON as it stands, like ours.
  const values = wallets.map((wallet) => [wallet.account, wallet.amount.toString()]);
  const start = performance.now();
  const tree = StandardMerkleTree.of(values, ['address', 'uint256']);
  const root = tree.root;
  const built = performance.now();
  // By position, the library's fastest way (by value it hashes the leaf again to look it up).
  const proofs = values.map((_, index) => tree.getProof(index));
  const proved = performance.now();
  const file = JSON.stringify(tree.dump());
  const done = performance.now();
  return { root, proofs, file, buildMs: built - start, proofsMs: proved - built, fileMs: done - proved };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function main() {
  const [mode, count = '0'] = process.argv.slice(2);
  if (mode === 'idle') {
    process.stdout.write(`${JSON.stringify({ wallets: 0, ms: 0, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
    return;
  }
  const wallets = syntheticWallets(Number(count));
  let close: Close;
  if (mode === 'ours') close = await closeOurs(wallets);
  else if (mode === 'openzeppelin') close = await closeOpenZeppelin(wallets);
  else throw new Error(`unknown mode ${mode}`);
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  const proofsHash = createHash('sha256');
  for (const proof of close.proofs) proofsHash.update(`${proof.join(',')}\n`);
  const result = {
    wallets: wallets.length,
    ms: close.buildMs + close.proofsMs + close.fileMs,
    buildMs: close.buildMs,
    proofsMs: close.proofsMs,
    fileMs: close.fileMs,
    fileBytes: Buffer.byteLength(close.file),
    maxRssMb,
    root: close.root,
    proofsSha256: proofsHash.digest('hex'),
    fileSha256: sha256(close.file),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
