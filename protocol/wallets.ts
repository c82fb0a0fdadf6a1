import { z } from 'zod';
import { addressSchema, isoDateSchema } from './primitives';

/**
 * Link codes are read off the extension's options page and typed or pasted into the console: eight
 * characters from an alphabet without look-alikes (no 0/O, 1/I/L), about 2^39 possibilities.
 */
export const linkCodeAlphabet = '23456789ABCDEFGHJKMNPQRSTUVWXYZ';
export const linkCodeLength = 8;

export const linkCodeSchema = z
  .string()
  .length(linkCodeLength)
  .regex(new RegExp(`^[${linkCodeAlphabet}]+$`), 'must be a link code shown by the extension');

/** Answer to `POST /v1/devices/me/link-code` (device-signed): shown to the person, spent by one wallet link. */
export const deviceLinkCodeSchema = z.object({
  code: linkCodeSchema,
  expiresAt: isoDateSchema,
});
export type DeviceLinkCode = z.infer<typeof deviceLinkCodeSchema>;

/** Answer to `GET /v1/wallets/nonce`: a fresh Sign-In with Ethereum nonce, valid once until `expiresAt`. */
export const siweNonceSchema = z.object({
  nonce: z.string().regex(/^[a-zA-Z0-9]{8,96}$/),
  expiresAt: isoDateSchema,
});
export type SiweNonce = z.infer<typeof siweNonceSchema>;

/** Body of `POST /v1/wallets/link` and `/unlink`: an EIP-4361 message (viem `createSiweMessage`) and the wallet's signature of it. */
export const signedSiweMessageSchema = z.object({
  message: z.string().min(1).max(4096),
  signature: z.string().regex(/^0x[0-9a-fA-F]+$/, 'must be 0x-prefixed hex'),
});
export type SignedSiweMessage = z.infer<typeof signedSiweMessageSchema>;

/** One period during which a device's points went to a wallet; history rows are never deleted. */
export const walletLinkSchema = z.object({
  device: addressSchema,
  wallet: addressSchema,
  linkedAt: isoDateSchema,
  unlinkedAt: isoDateSchema.nullable(),
});
export type WalletLink = z.infer<typeof walletLinkSchema>;

/** Answer to `GET /v1/devices/me/wallet`: the device's open link, or null while it earns unlinked. */
export const deviceWalletSchema = z.object({ link: walletLinkSchema.nullable() });
export type DeviceWallet = z.infer<typeof deviceWalletSchema>;

export type WalletLinkAction = 'link' | 'unlink';

/**
 * What the SIWE message of a link or unlink must say, exactly: a statement a person can read in the
 * wallet, and resources that name the device and (to link) the code the device showed. The server
 * rebuilds these from the named device and compares, so a message signed to unlink never links.
 */
export function walletLinkMessageFields(
  action: WalletLinkAction,
  device: string,
  code?: string,
): { statement: string; resources: string[] } {
  const deviceResource = `urn:gleaner:device:${device}`;
  if (action === 'unlink') {
    return { statement: `Unlink Gleaner device ${device} from this wallet.`, resources: [deviceResource] };
  }
  return {
    statement: `Link Gleaner device ${device} to this wallet; its points go to this wallet from now on.`,
    resources: [deviceResource, `urn:gleaner:link-code:${code ?? ''}`],
  };
}

/** The device and code a link message names in its resources, read back by the server before it checks them. */
export function readWalletLinkResources(resources: readonly string[]): { device?: string; code?: string } {
  const device = resources.find((r) => r.startsWith('urn:gleaner:device:'))?.slice('urn:gleaner:device:'.length);
  const code = resources.find((r) => r.startsWith('urn:gleaner:link-code:'))?.slice('urn:gleaner:link-code:'.length);
  return { device, code };
}
