import { z } from 'zod';
import { isoDateSchema } from './primitives';

/** API keys look like `glk_<id>_<secret>`: the id finds the row, only a hash of the secret is stored. */
export const apiKeyPattern = /^glk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export const buyerCreateSchema = z.object({
  name: z.string().trim().min(1).max(200),
  email: z.email().optional(),
});
export type BuyerCreate = z.infer<typeof buyerCreateSchema>;

export const buyerSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  email: z.string().nullable(),
  createdAt: isoDateSchema,
});
export type Buyer = z.infer<typeof buyerSchema>;

export const apiKeySummarySchema = z.object({
  id: z.string(),
  buyerId: z.uuid(),
  createdAt: isoDateSchema,
  revokedAt: isoDateSchema.nullable(),
});
export type ApiKeySummary = z.infer<typeof apiKeySummarySchema>;

/** Returned once when a key is made; the secret is never shown again. */
export const issuedApiKeySchema = z.object({
  buyer: buyerSchema,
  key: apiKeySummarySchema,
  apiKey: z.string().regex(apiKeyPattern),
});
export type IssuedApiKey = z.infer<typeof issuedApiKeySchema>;

export const buyerWithKeysSchema = buyerSchema.extend({ keys: z.array(apiKeySummarySchema) });
export const buyerListSchema = z.object({ buyers: z.array(buyerWithKeysSchema) });
export type BuyerList = z.infer<typeof buyerListSchema>;
