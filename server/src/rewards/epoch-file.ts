import { type EpochFile, epochFileSchema, rewardRulesVersion } from '@protocol/epochs';
import type { Address, Hex } from 'viem';
import { type EpochLine, type EpochRulesResult, rewardRulesText } from './epoch-rules';
import type { EpochEntry } from './epoch-tree';
import { keccak256Into } from './keccak';

/** Where an epoch's public file and its tree's nodes are stored (the dataset storage). */
export function epochStorageKeys(epoch: number): { file: string; tree: string } {
  return { file: `epochs/${epoch}/epoch.json`, tree: `epochs/${epoch}/tree.bin` };
}

/** The previous epoch as the file links to it. */
export interface PreviousEpochLink {
  epoch: number;
  root: Hex;
  contentId: string;
}

/**
 * The tree's entries in the file's order (wallets sorted by lower-case address), amounts cumulative. A leaf
 * depends on the address's 20 bytes only, so the letter case is left as given.
 */
export function epochTreeEntries(lines: readonly Pick<EpochLine, 'wallet' | 'cumulative'>[]): EpochEntry[] {
  return lines.map((line) => ({ account: line.wallet as Address, amount: line.cumulative }));
}

const asciiHex = Buffer.alloc(40);
const checksumHash = Buffer.alloc(32);

/**
 * EIP-55 checksummed address (what viem's `getAddress` gives) of a 0x-prefixed address. With the tree's keccak
 * and in place on bytes: `getAddress` took about 2 s of a 100k-wallet close on these machines.
 */
export function checksumAddress(address: string): Address {
  asciiHex.write(address.slice(2).toLowerCase(), 0, 40, 'latin1');
  keccak256Into(asciiHex, 0, 40, checksumHash, 0);
  for (let index = 0; index < 40; index += 1) {
    const byte = checksumHash[index >> 1] as number;
    const nibble = index % 2 === 0 ? byte >> 4 : byte & 0x0f;
    // Letters a-f (0x61-0x66) become A-F when their hash nibble is 8 or more; digits stay.
    if (nibble >= 8 && (asciiHex[index] as number) >= 0x61) asciiHex[index] = (asciiHex[index] as number) - 0x20;
  }
  return `0x${asciiHex.toString('latin1')}` as Address;
}

/** The public epoch file for a computed epoch, its keys in the schema's order. */
export function buildEpochFile(args: {
  epoch: number;
  closedAt: Date;
  result: EpochRulesResult;
  root: Hex;
  previous: PreviousEpochLink | null;
}): EpochFile {
  const { result } = args;
  return {
    format: 'gleaner-epoch-v1',
    epoch: args.epoch,
    closedAt: args.closedAt.toISOString(),
    rulesVersion: rewardRulesVersion,
    rules: rewardRulesText,
    pool: result.pool.toString(),
    carriedIn: result.carriedIn.toString(),
    carriedOut: result.carriedOut.toString(),
    pointsTotal: result.pointsTotal,
    leafEncoding: ['address', 'uint256'],
    root: args.root,
    previous: args.previous,
    wallets: result.lines.map((line) => ({
      address: checksumAddress(line.wallet),
      earned: line.earned,
      reversed: line.reversed,
      debtIn: line.debtIn,
      points: line.points,
      debtOut: line.debtOut,
      amount: line.amount.toString(),
      cumulative: line.cumulative.toString(),
    })),
  };
}

/**
 * The file's canonical bytes: zod's parse rebuilds every object in the schema's key order (whatever order the
 * input had), then 2-space JSON and a trailing newline. The same epoch always gives the same bytes, hence the
 * same content id.
 */
export function epochFileBytes(file: EpochFile): Buffer {
  return Buffer.from(`${JSON.stringify(epochFileSchema.parse(file), null, 2)}\n`);
}
