import { z } from 'zod';

/** How epochs pay: the pool each one splits and whether the server closes them on a schedule. */
export interface RewardSettings {
  /** Tokens (base units) each epoch splits pro rata over the points it pays. */
  poolPerEpoch: bigint;
  /** The reward token's decimals (base units per token = 10^decimals). */
  tokenDecimals: number;
  /** Close an epoch this often (milliseconds); null: only when the operator runs `gleaner epoch close`. */
  closeEveryMs: number | null;
}

export const defaultRewardSettings: RewardSettings = {
  poolPerEpoch: 1000n * 10n ** 18n,
  tokenDecimals: 18,
  closeEveryMs: null,
};

const envSchema = z.object({
  /** Whole tokens per epoch (decimal, e.g. "1000" or "0.5"). */
  GLEANER_EPOCH_POOL: z
    .string()
    .regex(/^(0|[1-9][0-9]{0,40})(\.[0-9]{1,18})?$/, 'must be a number of tokens such as 1000 or 0.5')
    .optional(),
  /** Hours between scheduled closes (e.g. 24); unset: the operator closes epochs by hand. */
  GLEANER_EPOCH_EVERY_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 366)
    .optional(),
});

/** Tokens written as a decimal ("12.5") in base units of a token with `decimals` decimals. */
export function tokensToBaseUnits(tokens: string, decimals: number): bigint {
  const [whole = '0', fraction = ''] = tokens.split('.');
  if (fraction.length > decimals) throw new Error(`${tokens} has more than ${decimals} decimals`);
  return BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, '0') || '0');
}

/** Reads the reward settings from the environment; throws naming every bad variable. */
export function loadRewardSettings(env: NodeJS.ProcessEnv): RewardSettings {
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')));
  if (!parsed.success) {
    throw new Error(
      `Invalid environment:\n${parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n')}`,
    );
  }
  const value = parsed.data;
  const decimals = defaultRewardSettings.tokenDecimals;
  return {
    poolPerEpoch:
      value.GLEANER_EPOCH_POOL === undefined
        ? defaultRewardSettings.poolPerEpoch
        : tokensToBaseUnits(value.GLEANER_EPOCH_POOL, decimals),
    tokenDecimals: decimals,
    closeEveryMs:
      value.GLEANER_EPOCH_EVERY_HOURS === undefined ? null : Math.round(value.GLEANER_EPOCH_EVERY_HOURS * 3_600_000),
  };
}
