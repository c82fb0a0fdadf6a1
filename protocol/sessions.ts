import { bytesToHex, hexToBytes } from 'viem';
import { z } from 'zod';
import { AuthError } from './errors';

/**
 * Device sessions: after one EIP-712-signed handshake, a device authenticates its requests with
 * HMAC-SHA256 under a key both sides derived by ECDH (P-256, WebCrypto), instead of a secp256k1
 * signature and a nonce row per request. The key never crosses the wire: the device's ephemeral public
 * key is in the signed handshake body, so nobody but the device can open a session in its name, and
 * the server answers with its own ephemeral public key. Each request carries a counter; the server
 * accepts each counter once, within a window below the highest seen (requests in flight may arrive
 * out of order). A session lives in the memory of the server process that opened it: a restart, another
 * replica or its expiry answers `session_unknown`, and the device opens a new one.
 *
 * What the per-request signature guarantees holds for a session's requests too: a captured request
 * cannot be altered (the MAC covers method, path and body hash) or replayed (the counter), and not
 * reused later (the session expires).
 */

export const sessionHeaders = {
  session: 'x-gleaner-session',
  counter: 'x-gleaner-counter',
  mac: 'x-gleaner-mac',
} as const;

export type SessionHeaders = Record<(typeof sessionHeaders)[keyof typeof sessionHeaders], string>;

/** An uncompressed P-256 public key (0x04, x, y) as 130 hex characters, without 0x. */
const publicKeySchema = z
  .string()
  .regex(/^04[0-9a-f]{128}$/, 'an uncompressed P-256 public key as 130 lower-case hex characters (04, x, y)');

/** Body of `POST /v1/devices/sessions`, signed per request like every handshake-free request. */
export const sessionOpenSchema = z.object({ publicKey: publicKeySchema }).strict();
export type SessionOpen = z.infer<typeof sessionOpenSchema>;

/** A session id: 16 random bytes as 32 lower-case hex characters. */
export const sessionIdSchema = z.string().regex(/^[0-9a-f]{32}$/);

export const sessionSchema = z.object({
  sessionId: sessionIdSchema,
  /** The server's ephemeral public key for this session. */
  serverPublicKey: publicKeySchema,
  /** How long the session is good for from now; the device opens a new one before. */
  ttlSeconds: z.number().int().positive(),
  /** A counter this far or more below the highest one the server has seen is refused as replayed. */
  replayWindow: z.number().int().positive(),
});
export type DeviceSession = z.infer<typeof sessionSchema>;

/** The highest counter a device may send: past it, it opens a new session. */
export const maxSessionCounter = Number.MAX_SAFE_INTEGER;

/** What the MAC of one request covers (the same fields as the per-request signature, with the counter). */
export interface SessionRequest {
  method: string;
  /** Path with query string, exactly as sent. */
  path: string;
  /** 0x-prefixed SHA-256 of the exact body bytes (`hashBody` of signing.ts). */
  bodyHash: string;
  counter: number;
}

/**
 * The bytes the MAC is computed over: a fixed label and the fields, one per line. A path cannot hold a
 * line break (it is sent URL-encoded), so no two requests share these bytes.
 */
export function sessionMacInput(request: SessionRequest): Uint8Array {
  if (!Number.isSafeInteger(request.counter) || request.counter < 1) {
    throw new RangeError(`counter ${request.counter} is not a whole number from 1 to ${maxSessionCounter}.`);
  }
  return new TextEncoder().encode(
    `gleaner-session-v1\n${request.method.toUpperCase()}\n${request.path}\n${request.bodyHash.toLowerCase()}\n${request.counter}`,
  );
}

/**
 * HKDF-SHA256's `info` for a session's key: the session id, the device and the server origin the
 * handshake was signed for, so a key is bound to one session of one device on one server.
 */
export function sessionKeyInfo(sessionId: string, device: string, serverOrigin: string): Uint8Array {
  return new TextEncoder().encode(`gleaner-session-v1\n${sessionId}\n${device.toLowerCase()}\n${serverOrigin}`);
}

/** Hex without the 0x prefix, as the session's wire fields carry it. */
const plainHex = (bytes: Uint8Array): string => bytesToHex(bytes).slice(2);

/** A device's side of a handshake: an ephemeral ECDH key pair, the public half sent in the signed body. */
export interface SessionKeyPair {
  privateKey: CryptoKey;
  /** 130 hex characters, as `sessionOpenSchema` reads it. */
  publicKey: string;
}

export async function generateSessionKeyPair(): Promise<SessionKeyPair> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveBits']);
  const publicKey = plainHex(new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey)));
  return { privateKey: pair.privateKey, publicKey };
}

/**
 * The session's HMAC key as the device derives it: ECDH of its private key and the server's public key,
 * then HKDF-SHA256 (no salt, `sessionKeyInfo`) to 32 bytes. The server derives the same bytes natively.
 */
export async function deriveDeviceSessionKey(
  privateKey: CryptoKey,
  session: Pick<DeviceSession, 'sessionId' | 'serverPublicKey'>,
  device: string,
  serverOrigin: string,
): Promise<CryptoKey> {
  const serverKey = await crypto.subtle.importKey(
    'raw',
    hexToBytes(`0x${session.serverPublicKey}`) as Uint8Array<ArrayBuffer>,
    { name: 'ECDH', namedCurve: 'P-256' },
    false,
    [],
  );
  const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: serverKey }, privateKey, 256);
  const hkdfKey = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    {
      name: 'HKDF',
      hash: 'SHA-256',
      salt: new Uint8Array(),
      info: sessionKeyInfo(session.sessionId, device, serverOrigin) as Uint8Array<ArrayBuffer>,
    },
    hkdfKey,
    { name: 'HMAC', hash: 'SHA-256', length: 256 },
    false,
    ['sign'],
  );
}

/** The headers of one request authenticated by a session: its id, the counter and the MAC in hex. */
export async function sessionRequestHeaders(
  key: CryptoKey,
  sessionId: string,
  request: SessionRequest,
): Promise<SessionHeaders> {
  const mac = await crypto.subtle.sign('HMAC', key, sessionMacInput(request) as Uint8Array<ArrayBuffer>);
  return {
    [sessionHeaders.session]: sessionId,
    [sessionHeaders.counter]: String(request.counter),
    [sessionHeaders.mac]: plainHex(new Uint8Array(mac)),
  };
}

/** What the headers of a session request claim, checked for form only. */
export interface ClaimedSession {
  sessionId: string;
  counter: number;
  /** 64 lower-case hex characters. */
  mac: string;
}

/**
 * Reads a request's session headers: null when it carries none (a per-request signed request), else all
 * three well formed, or `signature_invalid` naming what is wrong. Cheap: no MAC is computed here.
 */
export function readSessionHeaders(headers: Record<string, string | string[] | undefined>): ClaimedSession | null {
  const read = (name: string): string | undefined => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  };
  const sessionId = read(sessionHeaders.session);
  const counterText = read(sessionHeaders.counter);
  const mac = read(sessionHeaders.mac);
  if (sessionId === undefined && counterText === undefined && mac === undefined) return null;
  if (!sessionId || !sessionIdSchema.safeParse(sessionId).success) {
    throw new AuthError(
      'signature_invalid',
      `${sessionHeaders.session} must be a session id (32 lower-case hex characters).`,
    );
  }
  if (!counterText || !/^[1-9]\d{0,15}$/.test(counterText) || Number(counterText) > maxSessionCounter) {
    throw new AuthError(
      'signature_invalid',
      `${sessionHeaders.counter} must be a whole number from 1 to ${maxSessionCounter}.`,
    );
  }
  if (!mac || !/^[0-9a-fA-F]{64}$/.test(mac)) {
    throw new AuthError('signature_invalid', `${sessionHeaders.mac} must be 32 bytes of hex (HMAC-SHA256).`);
  }
  return { sessionId, counter: Number(counterText), mac: mac.toLowerCase() };
}
