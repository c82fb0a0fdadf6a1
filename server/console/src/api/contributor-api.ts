import { chainInfoSchema } from '@protocol/chain';
import {
  type LedgerQuery,
  ledgerPageSchema,
  pointsByDaySchema,
  walletOverviewSchema,
  walletSessionSchema,
} from '@protocol/contributors';
import { epochProofSchema } from '@protocol/epochs';
import { type SignedSiweMessage, siweNonceSchema, walletLinkSchema } from '@protocol/wallets';
import { z } from 'zod';
import type { ApiClient } from './api-client';

/** Filters and cursor of one ledger page, as the dashboard's controls set them. */
export type LedgerFilter = Partial<Pick<LedgerQuery, 'state' | 'reason' | 'device' | 'cursor' | 'limit'>>;

function ledgerQuery(filter: LedgerFilter): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) {
    if (value !== undefined && value !== '') query.set(key, String(value));
  }
  return query.toString();
}

/**
 * Every contributor endpoint the console calls, each reply parsed with its protocol schema. The public
 * ones (chain, nonce, link, proofs) take any client; the `/v1/wallet…` ones need the session's client.
 */
export const contributorApi = {
  chain: (api: ApiClient) => api.request('/v1/chain', chainInfoSchema),
  nonce: (api: ApiClient) => api.request('/v1/wallets/nonce', siweNonceSchema),
  signIn: (api: ApiClient, body: SignedSiweMessage) =>
    api.request('/v1/wallets/session', walletSessionSchema, { body }),
  signOut: (api: ApiClient) => api.request('/v1/wallets/session', z.unknown(), { method: 'DELETE' }),
  link: (api: ApiClient, body: SignedSiweMessage) => api.request('/v1/wallets/link', walletLinkSchema, { body }),
  unlink: (api: ApiClient, body: SignedSiweMessage) => api.request('/v1/wallets/unlink', walletLinkSchema, { body }),

  overview: (api: ApiClient) => api.request('/v1/wallet', walletOverviewSchema),
  pointsByDay: (api: ApiClient, days: number) =>
    api.request(`/v1/wallet/points-by-day?days=${days}`, pointsByDaySchema),
  ledger: (api: ApiClient, filter: LedgerFilter) =>
    api.request(`/v1/wallet/ledger?${ledgerQuery(filter)}`, ledgerPageSchema),

  /** The account's proof in `epoch` (a number, or `latest`); a 404 when the account is in no such epoch. */
  proof: (api: ApiClient, epoch: number | 'latest', account: string) =>
    api.request(`/v1/epochs/${epoch}/proofs/${encodeURIComponent(account)}`, epochProofSchema),
};
