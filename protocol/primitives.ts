import { z } from 'zod';
import { isCleanText } from './clean-text';

/**
 * An EVM address as hex. Kept free of transforms so the same schema can both validate
 * input and serialize responses; callers normalize with viem's `getAddress` where it matters.
 */
export const addressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');

export const isoDateSchema = z.iso.datetime({ offset: true });

/** Text a person types that the server stores: no NUL, no unpaired surrogate (PostgreSQL text holds neither). */
export const storedTextSchema = z
  .string()
  .refine(isCleanText, 'must not hold a NUL character or a broken (unpaired) surrogate');

/** A name a buyer gives a campaign, project or dataset: one to 200 characters of storable text. */
export const nameSchema = z.string().trim().min(1).max(200).pipe(storedTextSchema);
