import type { EpochProof } from '@protocol/epochs';
import { formatUnits } from 'viem';

export interface Claimable {
  /** What the latest proof lets the account claim in total. */
  cumulative: bigint;
  /** What the distributor has already paid the account. */
  claimed: bigint;
  /** What one claim pays now; never negative (an account may have claimed an epoch the proof predates). */
  amount: bigint;
}

/** What the account can claim with `proof` once the distributor has paid it `claimed`. */
export function computeClaimable(proof: Pick<EpochProof, 'cumulativeAmount'>, claimed: bigint): Claimable {
  const cumulative = BigInt(proof.cumulativeAmount);
  return { cumulative, claimed, amount: cumulative > claimed ? cumulative - claimed : 0n };
}

export interface RewardEpoch {
  epoch: number;
  amount: string;
}

/**
 * The epochs an unclaimed amount comes from, oldest first. A claim always takes the whole cumulative
 * amount of its proof, so what is left unclaimed is the newest epochs' amounts: they are taken newest first
 * until they cover `amount`.
 */
export function epochsOfClaimable(epochs: readonly RewardEpoch[], amount: bigint): RewardEpoch[] {
  const newestFirst = [...epochs].filter((e) => BigInt(e.amount) > 0n).sort((a, b) => b.epoch - a.epoch);
  const picked: RewardEpoch[] = [];
  let left = amount;
  for (const epoch of newestFirst) {
    if (left <= 0n) break;
    picked.push(epoch);
    left -= BigInt(epoch.amount);
  }
  return picked.reverse();
}

/**
 * A token amount in base units as a person reads it: grouped digits, at most `maxFraction` decimals
 * (rounded down, so the page never shows more than the wallet will receive), and the symbol.
 */
export function formatTokenAmount(amount: bigint | string, decimals: number, symbol: string, maxFraction = 4): string {
  const value = typeof amount === 'string' ? BigInt(amount) : amount;
  const [whole = '0', fraction = ''] = formatUnits(value, decimals).split('.');
  const grouped = BigInt(whole).toLocaleString('en-US');
  const shown = fraction.slice(0, maxFraction).replace(/0+$/, '');
  const approximate = value > 0n && grouped === '0' && shown === '' ? '< ' : '';
  const figure = approximate
    ? `0.${'0'.repeat(Math.max(0, maxFraction - 1))}1`
    : `${grouped}${shown ? `.${shown}` : ''}`;
  return `${approximate}${figure} ${symbol}`;
}
