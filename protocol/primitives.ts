import { type Address, getAddress, isAddress } from 'viem';
import { z } from 'zod';

/** An EVM address, normalized to its checksummed form. */
export const addressSchema = z
  .string()
  .refine((value) => isAddress(value, { strict: false }), { message: 'must be a 0x-prefixed 20-byte address' })
  .transform((value) => getAddress(value) as Address);

export const isoDateSchema = z.iso.datetime({ offset: true });
