import { walletSignInStatement } from '@protocol/contributors';
import { type WalletLinkAction, walletLinkMessageFields } from '@protocol/wallets';
import type { Address } from 'viem';
import { createSiweMessage } from 'viem/siwe';

/** How long a signed message stays good: long enough to read it in the wallet, short enough to be useless if leaked. */
const messageLifetimeMs = 10 * 60 * 1000;

export type WalletMessagePurpose = { action: 'sign-in' } | { action: WalletLinkAction; device: string; code?: string };

export interface WalletMessageInput {
  purpose: WalletMessagePurpose;
  address: Address;
  chainId: number;
  nonce: string;
  /** The page's own location: the server checks the domain against its own. */
  location: Pick<Location, 'host' | 'origin'>;
  now?: Date;
}

/**
 * The EIP-4361 message the wallet signs to sign in, link or unlink: the statement and resources are
 * exactly what the server rebuilds for that purpose (protocol/wallets.ts, protocol/contributors.ts).
 */
export function buildWalletMessage({
  purpose,
  address,
  chainId,
  nonce,
  location,
  now = new Date(),
}: WalletMessageInput) {
  const fields =
    purpose.action === 'sign-in'
      ? { statement: walletSignInStatement }
      : walletLinkMessageFields(purpose.action, purpose.device, purpose.code);
  return createSiweMessage({
    domain: location.host,
    uri: location.origin,
    version: '1',
    address,
    chainId,
    nonce,
    issuedAt: now,
    expirationTime: new Date(now.getTime() + messageLifetimeMs),
    ...fields,
  });
}
