import {
  type Address,
  bytesToHex,
  getAddress,
  type Hex,
  isAddress,
  isHex,
  keccak256,
  type LocalAccount,
  recoverTypedDataAddress,
} from 'viem';
import { AuthError } from './errors';

/**
 * Every request a device makes is signed as EIP-712 typed data over what it does
 * (method, path, hash of the exact body bytes) and when (timestamp, nonce), so a
 * captured request cannot be altered, replayed, or reused much later.
 */
export const requestDomain = { name: 'Gleaner', version: '1' } as const;

export const requestTypes = {
  Request: [
    { name: 'method', type: 'string' },
    { name: 'path', type: 'string' },
    { name: 'bodyHash', type: 'bytes32' },
    { name: 'timestamp', type: 'uint64' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;

export const signatureHeaders = {
  device: 'x-gleaner-device',
  timestamp: 'x-gleaner-timestamp',
  nonce: 'x-gleaner-nonce',
  signature: 'x-gleaner-signature',
} as const;

/** How far a request's timestamp may be from the server's clock. */
export const maxClockSkewSeconds = 300;

export interface RequestToSign {
  method: string;
  /** Path with query string, exactly as sent (`/v1/devices/me`). */
  path: string;
  /** The exact body bytes sent; empty for GET. */
  body: Uint8Array;
}

export type SignatureHeaders = Record<(typeof signatureHeaders)[keyof typeof signatureHeaders], string>;

export function hashBody(body: Uint8Array): Hex {
  return keccak256(body);
}

function randomNonce(): Hex {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
}

/** Signs a request with the device key and returns the headers to send with it. */
export async function signRequest(
  account: LocalAccount,
  request: RequestToSign,
  now: Date = new Date(),
): Promise<SignatureHeaders> {
  const timestamp = BigInt(Math.floor(now.getTime() / 1000));
  const nonce = randomNonce();
  const signature = await account.signTypedData({
    domain: requestDomain,
    types: requestTypes,
    primaryType: 'Request',
    message: {
      method: request.method.toUpperCase(),
      path: request.path,
      bodyHash: hashBody(request.body),
      timestamp,
      nonce,
    },
  });
  return {
    [signatureHeaders.device]: account.address,
    [signatureHeaders.timestamp]: timestamp.toString(),
    [signatureHeaders.nonce]: nonce,
    [signatureHeaders.signature]: signature,
  };
}

export interface VerifiedRequest {
  device: Address;
  nonce: Hex;
  timestamp: number;
}

/**
 * Checks the signature headers of a request: all present and well formed, the
 * timestamp within the allowed skew, and the signature made by the claimed device.
 * Whether the device is known and the nonce fresh is the server's to decide.
 */
export async function verifyRequestSignature(
  headers: Record<string, string | string[] | undefined>,
  request: RequestToSign,
  now: Date = new Date(),
): Promise<VerifiedRequest> {
  const read = (name: string): string | undefined => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const device = read(signatureHeaders.device);
  const timestampText = read(signatureHeaders.timestamp);
  const nonce = read(signatureHeaders.nonce);
  const signature = read(signatureHeaders.signature);
  if (!device || !timestampText || !nonce || !signature) {
    const missing = Object.values(signatureHeaders).filter((name) => !read(name));
    throw new AuthError(
      'signature_missing',
      `This request must be signed by a device; missing headers: ${missing.join(', ')}.`,
    );
  }
  if (!isAddress(device, { strict: false })) {
    throw new AuthError('signature_invalid', `${signatureHeaders.device} is not an address.`);
  }
  if (!/^\d{1,15}$/.test(timestampText)) {
    throw new AuthError('signature_invalid', `${signatureHeaders.timestamp} must be whole seconds since 1970.`);
  }
  if (!isHex(nonce) || nonce.length !== 66) {
    throw new AuthError('signature_invalid', `${signatureHeaders.nonce} must be 32 bytes of hex.`);
  }
  if (!isHex(signature)) {
    throw new AuthError('signature_invalid', `${signatureHeaders.signature} must be hex.`);
  }
  const timestamp = Number(timestampText);
  const skew = Math.abs(now.getTime() / 1000 - timestamp);
  if (skew > maxClockSkewSeconds) {
    throw new AuthError(
      'timestamp_stale',
      `The request was signed ${Math.round(skew)} s away from the server's clock; at most ${maxClockSkewSeconds} s is accepted. Check the device clock.`,
    );
  }
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({
      domain: requestDomain,
      types: requestTypes,
      primaryType: 'Request',
      message: {
        method: request.method.toUpperCase(),
        path: request.path,
        bodyHash: hashBody(request.body),
        timestamp: BigInt(timestamp),
        nonce,
      },
      signature,
    });
  } catch (cause) {
    throw new AuthError('signature_invalid', 'The signature could not be read.', { cause });
  }
  if (signer !== getAddress(device)) {
    throw new AuthError('signature_invalid', 'The signature does not match the device and request it claims.');
  }
  return { device: signer, nonce, timestamp };
}
