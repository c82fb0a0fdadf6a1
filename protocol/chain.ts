import { z } from 'zod';
import { addressSchema } from './primitives';

/**
 * `GET /v1/chain`: the reward chain the console connects to and the contracts on it. `contracts` is null
 * when the server runs with no chain (rewards are then computed and published as files only).
 */
export const chainInfoSchema = z.object({
  chainId: z.number().int().positive(),
  /** A JSON-RPC URL the console may read the chain through (never one carrying a secret). */
  rpcUrl: z.string().nullable(),
  /** true for the local anvil chain `npm start` runs. */
  local: z.boolean(),
  contracts: z
    .object({
      token: addressSchema,
      distributor: addressSchema,
      registry: addressSchema,
      tokenSymbol: z.string(),
      tokenDecimals: z.number().int().min(0).max(36),
    })
    .nullable(),
});
export type ChainInfo = z.infer<typeof chainInfoSchema>;
