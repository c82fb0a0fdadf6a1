import { z } from 'zod';
import { addressSchema, isoDateSchema } from './primitives';

/** A uint256 token amount in base units, as a decimal string (JSON numbers lose precision past 2^53). */
export const tokenAmountSchema = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'must be a whole number in decimal');

export const hex32Schema = z.string().regex(/^0x[0-9a-f]{64}$/, 'must be 0x and 64 lower-case hex digits');

/** A CIDv1 in base32 (`b…`), raw codec, sha2-256: the content id an epoch file is pinned under. */
export const contentIdSchema = z.string().regex(/^b[a-z2-7]{58}$/, 'must be a CIDv1 (raw, sha2-256) in base32');

/** The version of the reward rules an epoch was computed with; the rules are in the README. */
export const rewardRulesVersion = 'gleaner-rewards-1';

/** One wallet's line in a public epoch file. Points are whole ledger points; amounts are token base units. */
export const epochWalletSchema = z.object({
  /** Checksummed address. */
  address: addressSchema,
  /** Points newly verified for this wallet in this epoch. */
  earned: z.number().int().min(0),
  /** Points of earlier paid work rejected since (late failed audits), charged to this wallet now. */
  reversed: z.number().int().min(0),
  /** Points still owed from earlier reversals, carried in from the previous epoch. */
  debtIn: z.number().int().min(0),
  /** Points paid in this epoch: max(0, earned - reversed - debtIn). */
  points: z.number().int().min(0),
  /** What could not be deducted yet (the epoch pays never below zero): carried to the next epoch. */
  debtOut: z.number().int().min(0),
  /** This epoch's tokens: floor(pool * points / pointsTotal). */
  amount: tokenAmountSchema,
  /** All epochs' tokens so far: the leaf's amount, what `claim` pays up to. */
  cumulative: tokenAmountSchema,
});
export type EpochWallet = z.infer<typeof epochWalletSchema>;

/**
 * The public epoch file (`GET /v1/epochs/:n/file`): everything needed to recompute the amounts and the
 * root, with no server. Its exact bytes are pinned by content id. Wallets are sorted by lower-case address.
 */
export const epochFileSchema = z.object({
  format: z.literal('gleaner-epoch-v1'),
  epoch: z.number().int().min(1),
  closedAt: isoDateSchema,
  rulesVersion: z.string(),
  /** The rules in words, so the file explains itself. */
  rules: z.string(),
  /** This epoch's pool: the configured pool plus `carriedIn`. */
  pool: tokenAmountSchema,
  carriedIn: tokenAmountSchema,
  /** Rounding remainder (or the whole pool when no points were paid), carried to the next epoch. */
  carriedOut: tokenAmountSchema,
  pointsTotal: z.number().int().min(0),
  leafEncoding: z.tuple([z.literal('address'), z.literal('uint256')]),
  /** Root of OpenZeppelin's StandardMerkleTree over (address, cumulative) of every wallet listed. */
  root: hex32Schema,
  previous: z.object({ epoch: z.number().int().min(1), root: hex32Schema, contentId: contentIdSchema }).nullable(),
  wallets: z.array(epochWalletSchema),
});
export type EpochFile = z.infer<typeof epochFileSchema>;

/** An epoch as the API lists it (`GET /v1/epochs`, `GET /v1/epochs/:n`). */
export const epochSummarySchema = z.object({
  epoch: z.number().int().min(1),
  closedAt: isoDateSchema,
  rulesVersion: z.string(),
  pool: tokenAmountSchema,
  carriedIn: tokenAmountSchema,
  carriedOut: tokenAmountSchema,
  pointsTotal: z.number().int().min(0),
  wallets: z.number().int().min(0),
  root: hex32Schema,
  contentId: contentIdSchema,
  fileSha256: z.string().regex(/^[0-9a-f]{64}$/),
  fileBytes: z.number().int().min(0),
  /** Absolute URL of the epoch file (stable: the same bytes forever). */
  fileUrl: z.string(),
  /** The distributor transaction that set this root, once published on chain. */
  publishedTx: z.string().nullable(),
  publishedAt: isoDateSchema.nullable(),
});
export type EpochSummary = z.infer<typeof epochSummarySchema>;

export const epochListSchema = z.object({ epochs: z.array(epochSummarySchema) });
export type EpochList = z.infer<typeof epochListSchema>;

/** `GET /v1/epochs/:n/proofs/:address`: what `claim(account, cumulativeAmount, proof)` takes. */
export const epochProofSchema = z.object({
  epoch: z.number().int().min(1),
  root: hex32Schema,
  account: addressSchema,
  cumulativeAmount: tokenAmountSchema,
  proof: z.array(hex32Schema),
});
export type EpochProof = z.infer<typeof epochProofSchema>;

/** Operator `POST /v1/admin/epochs/close`: close the next epoch, or return it if `epoch` is already closed. */
export const closeEpochRequestSchema = z.object({
  /** The epoch number the operator means to close; closing a number that is closed returns that epoch. */
  epoch: z.number().int().min(1).optional(),
});
export type CloseEpochRequest = z.infer<typeof closeEpochRequestSchema>;

export const closeEpochResultSchema = z.object({
  /** false when the epoch was closed before (idempotent close) or there was nothing to pay. */
  closed: z.boolean(),
  /** Why nothing was closed, in words; absent when `closed`. */
  reason: z.string().optional(),
  epoch: epochSummarySchema.nullable(),
});
export type CloseEpochResult = z.infer<typeof closeEpochResultSchema>;

/** Operator `POST /v1/admin/epochs/:n/published`: the transaction that set the root on chain. */
export const epochPublishedSchema = z.object({ tx: z.string().regex(/^0x[0-9a-f]{64}$/) });

/** Operator `POST /v1/admin/ledger/reverse`: reject verified (possibly paid) ledger rows after the fact. */
export const reverseCreditsRequestSchema = z.object({
  references: z.array(z.string().min(1).max(300)).min(1).max(10_000),
  reason: z.string().trim().min(1).max(500),
});
export const reverseCreditsResultSchema = z.object({
  /** References reversed now. */
  reversed: z.array(z.string()),
  /** References not reversed, each with why (unknown, not verified, already reversed). */
  skipped: z.array(z.object({ reference: z.string(), reason: z.string() })),
});
export type ReverseCreditsResult = z.infer<typeof reverseCreditsResultSchema>;
