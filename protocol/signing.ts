import {
  type Address,
  bytesToHex,
  domainSeparator,
  getAddress,
  type Hex,
  hexToBytes,
  isAddress,
  isHex,
  keccak256,
  type LocalAccount,
  recoverAddress,
  sha256,
  stringToBytes,
} from 'viem';
import { AuthError } from './errors';

/**
 * Every request a device makes is signed as EIP-712 typed data over what it does
 * (method, path, hash of the exact body bytes) and when (timestamp, nonce), so a
 * captured request cannot be altered, replayed, or reused much later.
 *
 * The domain names the server the device meant to talk to (the origin of its configured server URL)
 * and the chain, so a request signed for one Gleaner server is refused by every other one.
 */
export interface SigningServer {
  /** The server's public origin as the device knows it: `https://gleaner.example` (no path, no slash). */
  origin: string;
  chainId: number;
}

/** The chain Gleaner runs on unless configured otherwise: a local anvil chain. */
export const defaultChainId = 31337;

/** The EIP-712 domain of one server: its origin enters as the salt (keccak256 of the origin's UTF-8). */
export function requestDomain(server: SigningServer) {
  return {
    name: 'Gleaner',
    version: '2',
    chainId: server.chainId,
    salt: keccak256(stringToBytes(server.origin)),
  } as const;
}

export const requestTypes = {
  Request: [
    { name: 'method', type: 'string' },
    { name: 'path', type: 'string' },
    { name: 'bodyHash', type: 'bytes32' },
    { name: 'timestamp', type: 'uint64' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;

/** What a device signs for one request: the `Request` struct of {@link requestTypes}. */
export interface RequestMessage {
  /** Upper case, as sent. */
  method: string;
  path: string;
  bodyHash: Hex;
  timestamp: bigint;
  nonce: Hex;
}

/** keccak256 of `Request(string method,...)`, encoded as EIP-712 encodes a type with no struct members. */
const requestTypeHash = keccak256(
  stringToBytes(`Request(${requestTypes.Request.map(({ name, type }) => `${type} ${name}`).join(',')})`),
  'bytes',
);

/** keccak256 of the methods devices use, hashed once. */
const methodHashes = new Map(
  ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].map((method) => [method, keccak256(stringToBytes(method), 'bytes')]),
);

/** Domain separators by chain and origin: a server checks every request against the same one or two. */
const domainSeparators = new Map<string, Uint8Array>();
/** Bounds the cache for a caller that checks origins it has not vetted (a server checks its own first). */
const maxCachedDomains = 64;

function cachedDomainSeparator(server: SigningServer): Uint8Array {
  const key = `${server.chainId} ${server.origin}`;
  let separator = domainSeparators.get(key);
  if (!separator) {
    if (domainSeparators.size >= maxCachedDomains) domainSeparators.clear();
    separator = hexToBytes(domainSeparator({ domain: requestDomain(server) }));
    domainSeparators.set(key, separator);
  }
  return separator;
}

/**
 * The EIP-712 digest of a request, the same 32 bytes as viem's `hashTypedData` over {@link requestDomain} and
 * {@link requestTypes}, computed without rebuilding and re-validating the domain and types for each request:
 * viem's spends ~0.3 ms per call on that, this three keccak256 of a few hundred bytes.
 */
export function requestDigest(server: SigningServer, message: RequestMessage): Uint8Array {
  // hashStruct(Request): the type hash, then each member as one 32-byte word in declaration order.
  const struct = new Uint8Array(6 * 32);
  struct.set(requestTypeHash, 0);
  struct.set(methodHashes.get(message.method) ?? keccak256(stringToBytes(message.method), 'bytes'), 32);
  struct.set(keccak256(stringToBytes(message.path), 'bytes'), 64);
  struct.set(bytes32(message.bodyHash, 'bodyHash'), 96);
  if (message.timestamp < 0n || message.timestamp >= 1n << 64n) {
    throw new RangeError(`timestamp ${message.timestamp} does not fit in a uint64.`);
  }
  new DataView(struct.buffer).setBigUint64(128 + 24, message.timestamp);
  struct.set(bytes32(message.nonce, 'nonce'), 160);
  const encoded = new Uint8Array(2 + 32 + 32);
  encoded.set([0x19, 0x01], 0);
  encoded.set(cachedDomainSeparator(server), 2);
  encoded.set(keccak256(struct, 'bytes'), 34);
  return keccak256(encoded, 'bytes');
}

function bytes32(value: Hex, name: string): Uint8Array {
  if (!isHex(value) || value.length !== 66) throw new RangeError(`${name} must be 32 bytes of hex.`);
  return hexToBytes(value);
}

/**
 * A device key that signs a request's digest itself rather than through viem: the load bench's native signer,
 * which must give the same bytes as `LocalAccount.signTypedData` (RFC 6979, low s, v = 27 or 28).
 */
export interface DigestSigner {
  address: Address;
  signDigest(digest: Uint8Array): Hex | Promise<Hex>;
}

export const signatureHeaders = {
  device: 'x-gleaner-device',
  timestamp: 'x-gleaner-timestamp',
  nonce: 'x-gleaner-nonce',
  signature: 'x-gleaner-signature',
  /** The server origin the request was signed for (it is in the signed domain, so it cannot be changed). */
  server: 'x-gleaner-server',
} as const;

/** How far a request's timestamp may be from the server's clock. */
export const maxClockSkewSeconds = 300;

/** Half the secp256k1 group order: a signature with a larger s is the malleable twin of a low-s one. */
const secp256k1HalfOrder = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

export interface RequestToSign {
  method: string;
  /** Path with query string, exactly as sent (`/v1/devices/me`). */
  path: string;
  /** The exact body bytes sent (the gzip bytes for a gzip body); empty for GET. */
  body: Uint8Array;
}

export type SignatureHeaders = Record<(typeof signatureHeaders)[keyof typeof signatureHeaders], string>;

/** SHA-256 of the exact body bytes: a native digest on every side (WebCrypto, node:crypto) gives the same. */
export function hashBody(body: Uint8Array): Hex {
  return sha256(body);
}

function randomNonce(): Hex {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
}

/** Signs a request for `server` with the device key and returns the headers to send with it. */
export async function signRequest(
  account: LocalAccount | DigestSigner,
  request: RequestToSign,
  server: SigningServer,
  now: Date = new Date(),
): Promise<SignatureHeaders> {
  const timestamp = BigInt(Math.floor(now.getTime() / 1000));
  const nonce = randomNonce();
  const message: RequestMessage = {
    method: request.method.toUpperCase(),
    path: request.path,
    bodyHash: hashBody(request.body),
    timestamp,
    nonce,
  };
  const signature =
    'signDigest' in account
      ? await account.signDigest(requestDigest(server, message))
      : await account.signTypedData({
          domain: requestDomain(server),
          types: requestTypes,
          primaryType: 'Request',
          message,
        });
  return {
    [signatureHeaders.device]: account.address,
    [signatureHeaders.timestamp]: timestamp.toString(),
    [signatureHeaders.nonce]: nonce,
    [signatureHeaders.signature]: signature,
    [signatureHeaders.server]: server.origin,
  };
}

/** What the headers of a signed request claim, checked for form and freshness but not yet for the signature. */
export interface ClaimedSignature {
  device: Address;
  timestamp: number;
  nonce: Hex;
  signature: Hex;
  server: string;
}

/**
 * Reads the signature headers of a request: all present and well formed, the timestamp within the
 * allowed skew, a 65-byte low-s signature. Cheap (no hashing, no key recovery), so a server can
 * refuse most bad requests before it reads their body or asks its database.
 */
export function readSignatureHeaders(
  headers: Record<string, string | string[] | undefined>,
  now: Date = new Date(),
): ClaimedSignature {
  const read = (name: string): string | undefined => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const device = read(signatureHeaders.device);
  const timestampText = read(signatureHeaders.timestamp);
  const nonce = read(signatureHeaders.nonce);
  const signature = read(signatureHeaders.signature);
  const server = read(signatureHeaders.server);
  if (!device || !timestampText || !nonce || !signature || !server) {
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
  if (!isHex(signature) || signature.length !== 132) {
    throw new AuthError('signature_invalid', `${signatureHeaders.signature} must be 65 bytes of hex (r, s, v).`);
  }
  if (BigInt(`0x${signature.slice(66, 130)}`) > secp256k1HalfOrder) {
    throw new AuthError(
      'signature_invalid',
      'The signature is in its high-s form; only low-s signatures are accepted (EIP-2).',
    );
  }
  if (server.length > 200) {
    throw new AuthError('signature_invalid', `${signatureHeaders.server} is too long to be a server origin.`);
  }
  const timestamp = Number(timestampText);
  const skew = Math.abs(now.getTime() / 1000 - timestamp);
  if (skew > maxClockSkewSeconds) {
    throw new AuthError(
      'timestamp_stale',
      `The request was signed ${Math.round(skew)} s away from the server's clock; at most ${maxClockSkewSeconds} s is accepted. Check the device clock.`,
    );
  }
  // One spelling per nonce: it is signed as bytes, so `0xAB…` and `0xab…` are the same signed request, and a
  // replay must not pass as fresh by changing the letters' case.
  return { device: getAddress(device), timestamp, nonce: nonce.toLowerCase() as Hex, signature, server };
}

/**
 * Recovers the address that made a 65-byte (r, s, v) signature of a 32-byte digest, in any letter case;
 * throws when no key can have made it. v is 27 or 28, or 0 or 1, as viem's `recoverAddress` reads it.
 */
export type SignerRecovery = (digest: Uint8Array, signature: Hex) => string | Promise<string>;

/** viem's recovery (@noble/curves, plain JS: ~4 ms). A server passes a native one. */
const recoverWithViem: SignerRecovery = (digest, signature) => recoverAddress({ hash: digest, signature });

/**
 * Checks that `claimed` was signed by its device over this method, path and body hash, for this
 * server and chain. Throws `signature_invalid` otherwise.
 */
export async function checkRequestSigner(
  claimed: ClaimedSignature,
  request: { method: string; path: string; bodyHash: Hex },
  chainId: number,
  recover: SignerRecovery = recoverWithViem,
): Promise<void> {
  let signer: string;
  try {
    const digest = requestDigest(
      { origin: claimed.server, chainId },
      {
        method: request.method.toUpperCase(),
        path: request.path,
        bodyHash: request.bodyHash,
        timestamp: BigInt(claimed.timestamp),
        nonce: claimed.nonce,
      },
    );
    signer = await recover(digest, claimed.signature);
  } catch (cause) {
    throw new AuthError('signature_invalid', 'The signature could not be read.', { cause });
  }
  if (signer.toLowerCase() !== claimed.device.toLowerCase()) {
    throw new AuthError('signature_invalid', 'The signature does not match the device and request it claims.');
  }
}

/** Refuses a request signed for another server than one of `origins`. */
export function checkSignedServer(claimed: ClaimedSignature, origins: readonly string[]): void {
  if (!origins.includes(claimed.server)) {
    throw new AuthError(
      'signature_wrong_server',
      `This request was signed for the server ${claimed.server}, and this server is ${origins.join(' or ')}. Check the server address in Gleaner's settings.`,
    );
  }
}

export interface VerifiedRequest {
  device: Address;
  nonce: Hex;
  timestamp: number;
}

/**
 * Checks a whole signed request in one call: headers, server, and signature over the body.
 * Whether the device is known and the nonce fresh is the server's to decide.
 */
export async function verifyRequestSignature(
  headers: Record<string, string | string[] | undefined>,
  request: RequestToSign,
  server: { origins: readonly string[]; chainId: number },
  now: Date = new Date(),
): Promise<VerifiedRequest> {
  const claimed = readSignatureHeaders(headers, now);
  checkSignedServer(claimed, server.origins);
  await checkRequestSigner(
    claimed,
    { method: request.method, path: request.path, bodyHash: hashBody(request.body) },
    server.chainId,
  );
  return { device: claimed.device, nonce: claimed.nonce, timestamp: claimed.timestamp };
}
