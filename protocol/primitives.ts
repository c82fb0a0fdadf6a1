import { z } from 'zod';

/**
 * An EVM address as hex. Kept free of transforms so the same schema can both validate
 * input and serialize responses; callers normalize with viem's `getAddress` where it matters.
 */
export const addressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');

export const isoDateSchema = z.iso.datetime({ offset: true });
