/**
 * The reward rules: how an epoch turns the points it counts into token amounts. Pure integer arithmetic (bigint
 * for tokens), no database: the close, the dashboard's estimate and `gleaner epoch verify` all call these same
 * functions, so there is one owner for the rule. The words below are printed in every epoch file (`rules`).
 */

/** The rules in words, written into each epoch file and the README of this folder. */
export const rewardRulesText = [
  'Counted: ledger rows in state verified, not counted by an earlier epoch, of devices linked to a wallet at the close; they are credited to that wallet.',
  'Rows of devices with no wallet wait unpaid and move with the device when it is linked.',
  'A reversal (a paid or verified row found bad later) is a negative row charged to the wallet the original was paid to, or, if it was never paid, to the wallet the original would go to.',
  'Per wallet: net = earned - reversed - debtIn; points = max(0, net); debtOut = max(0, -net): a wallet is never paid below zero, what it still owes is deducted from its next epochs.',
  "pool = the configured pool per epoch + the previous epoch's carriedOut; amount = floor(pool * points / pointsTotal); carriedOut = pool - sum(amount) (the rounding remainder, or the whole pool when pointsTotal is 0).",
  "cumulative = the previous epoch's cumulative + amount; every wallet ever listed stays in later epochs (amount 0 when it earned nothing), since claims check against the latest root only.",
  'Leaf = keccak256(bytes.concat(keccak256(abi.encode(address, cumulative)))); the root is OpenZeppelin StandardMerkleTree over every wallet listed.',
].join(' ');

/** What the epoch counted for one wallet: the sum of its positive rows and minus the sum of its reversal rows. */
export interface CountedPoints {
  earned: number;
  reversed: number;
}

/** A wallet's standing after the previous epoch. */
export interface PreviousStanding {
  cumulative: bigint;
  debtOut: number;
}

/** One wallet's line, as the epoch file and `epoch_wallets` hold it. */
export interface EpochLine {
  /** Lower-case address. */
  wallet: string;
  earned: number;
  reversed: number;
  debtIn: number;
  points: number;
  debtOut: number;
  amount: bigint;
  cumulative: bigint;
}

export interface EpochRulesInput {
  /** The configured pool per epoch (token base units). */
  poolPerEpoch: bigint;
  /** The previous epoch's carriedOut (0 for the first epoch). */
  carriedIn: bigint;
  /** Every wallet in the previous epoch, by lower-case address. */
  previous: ReadonlyMap<string, PreviousStanding>;
  /** What this epoch counts, by lower-case address. */
  counted: ReadonlyMap<string, CountedPoints>;
}

export interface EpochRulesResult {
  pool: bigint;
  carriedIn: bigint;
  carriedOut: bigint;
  pointsTotal: number;
  /** Every wallet (previous and newly counted), sorted by lower-case address. */
  lines: EpochLine[];
}

/** Applies the rules: one line per wallet ever listed or counted now, the pool split pro rata with floor. */
export function applyEpochRules(input: EpochRulesInput): EpochRulesResult {
  const wallets = new Set<string>([...input.previous.keys(), ...input.counted.keys()]);
  const sorted = [...wallets].sort();
  const lines: EpochLine[] = [];
  let pointsTotal = 0;
  for (const wallet of sorted) {
    const before = input.previous.get(wallet);
    const now = input.counted.get(wallet);
    const earned = now?.earned ?? 0;
    const reversed = now?.reversed ?? 0;
    const debtIn = before?.debtOut ?? 0;
    const net = earned - reversed - debtIn;
    const points = Math.max(0, net);
    pointsTotal += points;
    lines.push({
      wallet,
      earned,
      reversed,
      debtIn,
      points,
      debtOut: Math.max(0, -net),
      amount: 0n,
      cumulative: before?.cumulative ?? 0n,
    });
  }
  if (!Number.isSafeInteger(pointsTotal)) throw new RangeError(`points total ${pointsTotal} is past 2^53`);
  const pool = input.poolPerEpoch + input.carriedIn;
  let paid = 0n;
  if (pointsTotal > 0) {
    const total = BigInt(pointsTotal);
    for (const line of lines) {
      if (line.points === 0) continue;
      line.amount = (pool * BigInt(line.points)) / total;
      line.cumulative += line.amount;
      paid += line.amount;
    }
  }
  return { pool, carriedIn: input.carriedIn, carriedOut: pool - paid, pointsTotal, lines };
}
