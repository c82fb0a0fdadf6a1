import { createHash, webcrypto } from 'node:crypto';
import { AuthError } from '@protocol/errors';
import { readSessionHeaders } from '@protocol/sessions';
import { checkRequestSigner, checkSignedServer, readSignatureHeaders } from '@protocol/signing';
import type { FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import type { Address } from 'viem';
import { bytesToHex } from 'viem';
import type { AppContext } from '../app-context';
import { unregisteredDevice } from '../repositories/device-repository';
import { nonceRepository } from '../repositories/nonce-repository';
import { type DeviceSessions, unknownSession } from './device-sessions';
import { decodeJsonBody, defaultBodyLimits } from './request-body';
import { recoverSignerWithLibsecp256k1 } from './request-signature';

declare module 'fastify' {
  interface FastifyRequest {
    /** The device whose signature (or session) this request carried, once verified. */
    device: Address | null;
    /** The server origin a per-request signature named (null for a session request). */
    signedFor: string | null;
  }
  interface FastifyInstance {
    deviceSessions: DeviceSessions;
  }
}

export interface DeviceAuthOptions {
  /** Registration is the one request a device may sign before the server knows it. */
  allowUnknownDevice?: boolean;
  /** The most this route's body may inflate to (default: the server's cap, 32 MB). */
  maxInflatedBytes?: number;
  /** Only a request signed by the device key itself, never a session's (opening a session). */
  signatureOnly?: boolean;
}

/** Bodies up to this size are hashed at once: ~40 us for 64 KB, less CPU than handing them to WebCrypto. */
const syncDigestMaxBytes = 64 * 1024;

/**
 * SHA-256 of the body: a small one on the event loop, a larger one on WebCrypto, which digests on libuv's
 * thread pool, so a 16 MB body never blocks the event loop.
 */
async function sha256Hex(bytes: Uint8Array): Promise<`0x${string}`> {
  if (bytes.length <= syncDigestMaxBytes) return `0x${createHash('sha256').update(bytes).digest('hex')}`;
  return bytesToHex(new Uint8Array(await webcrypto.subtle.digest('SHA-256', bytes)));
}

/**
 * Route options for a device-signed route: the body stays raw bytes until the signature is checked.
 * Checks run cheapest first, so an unauthenticated request costs the server at most reading its
 * bytes, one digest of them and one key recovery (~0.4 ms): headers, timestamp and server; the body's hash
 * (off the event loop when large); the signature; then, in one statement, a known device and a fresh nonce.
 * Only then is the body inflated and parsed. Nothing is written for a request that is not signed by a
 * registered device's key (registration itself records its nonce).
 */
export function deviceSigned(
  context: Pick<AppContext, 'db' | 'server'>,
  options: DeviceAuthOptions = {},
): Pick<RouteShorthandOptions, 'config' | 'preValidation'> {
  const nonces = nonceRepository(context.db);
  return {
    config: { deviceSigned: true },
    preValidation: async (request: FastifyRequest, reply: FastifyReply) => {
      const session = readSessionHeaders(request.headers);
      if (session) {
        if (options.signatureOnly || options.allowUnknownDevice) {
          throw new AuthError(
            'signature_missing',
            `${request.method} ${request.routeOptions.url} must be signed by the device key itself, not a session.`,
          );
        }
        // An unknown session is refused before its body costs a digest, as a forged signature is.
        if (!request.server.deviceSessions.holds(session.sessionId)) throw unknownSession();
        const bodyHash = await sha256Hex(request.rawBody ?? new Uint8Array());
        request.device = request.server.deviceSessions.verify(session, {
          method: request.method,
          path: request.url,
          bodyHash,
        });
      } else {
        request.device = await verifySignedRequest(request);
      }
      // The device's budget is spent before its body costs anything beyond its digest.
      if (request.server.hasDecorator('spendDeviceBudget')) await request.server.spendDeviceBudget(request, reply);
      await decodeJsonBody(request, {
        ...defaultBodyLimits,
        maxInflatedBytes: options.maxInflatedBytes ?? defaultBodyLimits.maxInflatedBytes,
      });
    },
  };

  async function verifySignedRequest(request: FastifyRequest): Promise<Address> {
    const claimed = readSignatureHeaders(request.headers);
    checkSignedServer(claimed, context.server.origins);
    const bodyHash = await sha256Hex(request.rawBody ?? new Uint8Array());
    await checkRequestSigner(
      claimed,
      { method: request.method, path: request.url, bodyHash },
      context.server.chainId,
      recoverSignerWithLibsecp256k1,
    );
    const claim = await nonces.claim(claimed.device, claimed.nonce, { anyDevice: options.allowUnknownDevice });
    if (claim === 'device_unknown') {
      throw unregisteredDevice(claimed.device);
    }
    if (claim === 'replayed') {
      throw new AuthError(
        'nonce_replayed',
        'This request was already received once; each signed request is accepted only once.',
      );
    }
    request.signedFor = claimed.server;
    return claimed.device;
  }
}
