import { AuthError, BaseError } from '@protocol/errors';
import { maxClockSkewSeconds } from '@protocol/signing';
import { type Address, createPublicClient, getAddress, type Hex, http, isAddress, isHex, verifyMessage } from 'viem';
import { createSiweMessage, parseSiweMessage, type SiweMessage } from 'viem/siwe';
import type { ServerIdentity } from '../app-context';

/** Says whether `signature` over `message` (EIP-191) is `address`'s. */
export interface SiweSignatureVerifier {
  (address: Address, message: string, signature: Hex): Promise<boolean>;
  /** Whether smart-contract wallets can sign in: only through a chain, which the refusal says when there is none. */
  readonly contractWallets: boolean;
}

/**
 * How wallet signatures are verified. With a chain RPC, through the chain: viem's `verifyMessage` on a public
 * client asks the chain for contract wallets (EIP-1271, and EIP-6492 for wallets not deployed yet) and recovers
 * plain keys (EOAs) locally. Without one, only EOAs can sign in: their signature is recovered locally and a
 * smart-contract wallet's signature is refused as invalid. A chain that does not answer is `overloaded` (503,
 * worth retrying), not an invalid signature.
 */
export function siweSignatureVerifier(chainRpcUrl?: string): SiweSignatureVerifier {
  if (!chainRpcUrl) {
    const verifyLocally = (address: Address, message: string, signature: Hex) =>
      verifyMessage({ address, message, signature });
    return Object.assign(verifyLocally, { contractWallets: false });
  }
  const client = createPublicClient({ transport: http(chainRpcUrl) });
  const verifyOnChain = async (address: Address, message: string, signature: Hex) => {
    if (await client.verifyMessage({ address, message, signature })) return true;
    // viem turns a failed eth_call, a chain that did not answer included, into "not verified": ask the chain
    // once more so that a valid contract wallet is not told its signature is wrong while the chain is down.
    await client.getChainId().catch((error: unknown) => {
      throw new BaseError(
        'overloaded',
        'This server cannot reach its chain right now, so it cannot check a smart-contract wallet; try again shortly.',
        { cause: error },
      );
    });
    return false;
  };
  return Object.assign(verifyOnChain, { contractWallets: true });
}

/** A SIWE message whose fields are all present and whose text is exactly what viem would write for them. */
export type CheckedSiweMessage = SiweMessage & { address: Address; expirationTime: Date; issuedAt: Date };

/**
 * Parses a SIWE message and checks everything that needs no database: canonical form, domain and chain of
 * this server, issued, valid-from and expiry times, and the signature. Nonce and link code are the caller's.
 */
export async function checkSiweMessage(
  text: string,
  signature: string,
  server: ServerIdentity,
  verify: SiweSignatureVerifier,
  now: Date = new Date(),
): Promise<CheckedSiweMessage> {
  const message = parseCanonical(text);

  const hosts = server.origins.map((origin) => new URL(origin).host);
  if (!hosts.includes(message.domain)) {
    throw new AuthError(
      'siwe_domain_mismatch',
      `The message signs in to ${message.domain}, not to this server (${hosts.join(', ')}).`,
    );
  }
  // The URI is the page that asked for the signature: another site's page must not borrow this server's domain.
  const uriOrigin = URL.canParse(message.uri) ? new URL(message.uri).origin : null;
  if (!uriOrigin || !server.origins.map((origin) => new URL(origin).origin).includes(uriOrigin)) {
    throw new AuthError(
      'siwe_domain_mismatch',
      `The message was asked for by ${message.uri}, not by this server (${server.origins.join(', ')}).`,
    );
  }
  if (message.chainId !== server.chainId) {
    throw new AuthError(
      'siwe_chain_mismatch',
      `The message names chain ${message.chainId}; this server runs on chain ${server.chainId}.`,
    );
  }
  const skewMs = maxClockSkewSeconds * 1000;
  if (message.issuedAt.getTime() > now.getTime() + skewMs) {
    throw new AuthError(
      'siwe_not_yet_valid',
      `The message is issued at ${message.issuedAt.toISOString()}, in the future.`,
    );
  }
  if (message.notBefore && message.notBefore.getTime() > now.getTime() + skewMs) {
    throw new AuthError('siwe_not_yet_valid', `The message is not valid before ${message.notBefore.toISOString()}.`);
  }
  if (message.expirationTime.getTime() <= now.getTime()) {
    throw new AuthError(
      'siwe_expired',
      `The message expired at ${message.expirationTime.toISOString()}; sign a new one.`,
    );
  }
  if (!isHex(signature) || !(await verifySignature(verify, message.address, text, signature))) {
    // Without a chain a contract wallet's signature looks like anyone else's: say why it may have been refused.
    const chainless = verify.contractWallets
      ? ''
      : ' This server is not connected to a chain, so it accepts plain-key wallets only, not smart-contract wallets.';
    throw new AuthError(
      'siwe_signature_invalid',
      `The signature is not by ${message.address}, the message's address.${chainless}`,
    );
  }
  return message;
}

/** Malformed signatures make viem throw; to the client they are simply not the address's signature. */
async function verifySignature(verify: SiweSignatureVerifier, address: Address, text: string, signature: Hex) {
  try {
    return await verify(address, text, signature);
  } catch (error) {
    if (error instanceof BaseError) throw error;
    if (error instanceof Error && /signature/i.test(error.message)) return false;
    throw error;
  }
}

/**
 * viem's parser reads fields with regular expressions and skips what it does not recognise; rebuilding the
 * message from what it read and requiring the same text means the server checks exactly what the wallet showed.
 */
function parseCanonical(text: string): CheckedSiweMessage {
  const fields = parseSiweMessage(text);
  const missing = (['address', 'chainId', 'domain', 'nonce', 'uri', 'version', 'issuedAt', 'expirationTime'] as const)
    .filter((name) => fields[name] === undefined)
    .join(', ');
  if (missing) throw invalid(`The message lacks ${missing}; a wallet link message needs all of them.`);
  const { address, expirationTime, issuedAt } = fields;
  if (!address || !isAddress(address, { strict: false }) || !expirationTime || !issuedAt) {
    throw invalid('The message does not name a valid address.');
  }
  const message = { ...fields, address: getAddress(address), expirationTime, issuedAt } as CheckedSiweMessage;
  let rebuilt: string;
  try {
    rebuilt = createSiweMessage(message);
  } catch (error) {
    throw invalid(`The message is not a valid Sign-In with Ethereum message: ${(error as Error).message}`);
  }
  if (rebuilt !== text && rebuilt !== text.replace(address, message.address)) {
    throw invalid('The message is not in the standard EIP-4361 form (as viem createSiweMessage writes it).');
  }
  return message;
}

function invalid(message: string): BaseError {
  return new BaseError('siwe_message_invalid', message);
}
