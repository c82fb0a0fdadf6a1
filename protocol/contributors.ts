import { z } from 'zod';
import { tokenAmountSchema } from './epochs';
import { addressSchema, isoDateSchema } from './primitives';

/**
 * The statement a wallet signs to sign in to the console (`POST /v1/wallets/session`): a SIWE message with
 * this statement and no resources. The server rebuilds it and compares.
 */
export const walletSignInStatement = 'Sign in to Gleaner with this wallet to see its points and rewards.';

/** Answer to `POST /v1/wallets/session`: a bearer token for the contributor endpoints below. */
export const walletSessionSchema = z.object({
  /** `gls_…`, sent as `Authorization: Bearer gls_…`; shown once, stored hashed. */
  token: z.string().regex(/^gls_[A-Za-z0-9_-]{43}$/),
  wallet: addressSchema,
  expiresAt: isoDateSchema,
});
export type WalletSession = z.infer<typeof walletSessionSchema>;

export const ledgerStateSchema = z.enum(['pending', 'verified', 'rejected', 'reversed']);
export type LedgerState = z.infer<typeof ledgerStateSchema>;

/** One device linked to the signed-in wallet. */
export const walletDeviceSchema = z.object({
  address: addressSchema,
  browser: z.string(),
  extensionVersion: z.string(),
  trust: z.number().min(0).max(1),
  lastSeenAt: isoDateSchema,
  linkedAt: isoDateSchema,
  points: z.object({ pending: z.number().int(), verified: z.number().int(), rejected: z.number().int() }),
});

/** `GET /v1/wallet`: the signed-in wallet's overview. */
export const walletOverviewSchema = z.object({
  wallet: addressSchema,
  devices: z.array(walletDeviceSchema),
  /** Devices linked before and since unlinked (history is kept). */
  formerDevices: z.array(z.object({ address: addressSchema, linkedAt: isoDateSchema, unlinkedAt: isoDateSchema })),
  points: z.object({
    pending: z.number().int(),
    /** Verified and not yet counted in an epoch: what the next epoch pays for. */
    verifiedUnpaid: z.number().int(),
    /** Verified and counted in a closed epoch. */
    paid: z.number().int(),
    rejected: z.number().int(),
    /** Points of paid work rejected later, and what of it is still to be deducted. */
    reversed: z.number().int(),
    debt: z.number().int(),
  }),
  /** The next epoch, estimated as if it closed now with everyone's verified, unpaid points. */
  nextEpoch: z.object({
    epoch: z.number().int().min(1),
    points: z.number().int(),
    pointsTotal: z.number().int(),
    pool: tokenAmountSchema,
    estimatedAmount: tokenAmountSchema,
    /** When the schedule closes it, if there is one. */
    closesAt: isoDateSchema.nullable(),
  }),
  /** From the latest closed epoch: what the wallet may claim in total, and each epoch's share of it. */
  rewards: z.object({
    latestEpoch: z.number().int().nullable(),
    cumulative: tokenAmountSchema,
    epochs: z.array(
      z.object({
        epoch: z.number().int(),
        points: z.number().int(),
        reversed: z.number().int(),
        amount: tokenAmountSchema,
        published: z.boolean(),
      }),
    ),
  }),
});
export type WalletOverview = z.infer<typeof walletOverviewSchema>;

/** `GET /v1/wallet/points-by-day?days=N`: one row per UTC day, oldest first, every day present. */
export const pointsByDaySchema = z.object({
  days: z.array(
    z.object({
      day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
      verified: z.number().int(),
      pending: z.number().int(),
      rejected: z.number().int(),
    }),
  ),
});
export type PointsByDay = z.infer<typeof pointsByDaySchema>;

export const ledgerQuerySchema = z.object({
  state: ledgerStateSchema.optional(),
  reason: z.enum(['scrape', 'audit', 'canary', 'label', 'label_gold', 'reversal']).optional(),
  device: addressSchema.optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
export type LedgerQuery = z.infer<typeof ledgerQuerySchema>;

/** One ledger row as its contributor sees it. */
export const ledgerEntrySchema = z.object({
  id: z.string(),
  device: addressSchema,
  reference: z.string(),
  reason: z.string(),
  points: z.number().int(),
  state: ledgerStateSchema,
  /** Why it was rejected or reversed. */
  rejectionReason: z.string().nullable(),
  url: z.string().nullable(),
  createdAt: isoDateSchema,
  settledAt: isoDateSchema.nullable(),
  /** The epoch that paid it, if any. */
  epoch: z.number().int().nullable(),
});
export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;

/** `GET /v1/wallet/ledger`: newest first; `nextCursor` fetches the next page. */
export const ledgerPageSchema = z.object({ entries: z.array(ledgerEntrySchema), nextCursor: z.string().nullable() });
export type LedgerPage = z.infer<typeof ledgerPageSchema>;
