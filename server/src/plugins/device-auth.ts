import { AuthError } from '@protocol/errors';
import { verifyRequestSignature } from '@protocol/signing';
import type { FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { Address } from 'viem';
import type { Database } from '../db/database';
import { deviceRepository } from '../repositories/device-repository';
import { nonceRepository } from '../repositories/nonce-repository';
import { rawBodyOf } from './raw-body';

declare module 'fastify' {
  interface FastifyRequest {
    /** The device whose signature this request carried, once verified. */
    device: Address | null;
  }
}

export interface DeviceAuthOptions {
  /** Registration is the one request a device may sign before the server knows it. */
  allowUnknownDevice?: boolean;
}

/**
 * Builds the preValidation hook (the body is read, not yet validated) that verifies a device-signed request: signature over the exact
 * method, path and body bytes; timestamp within the skew; a known device; a nonce never seen before.
 */
export function deviceAuth(db: Database, options: DeviceAuthOptions = {}): preHandlerAsyncHookHandler {
  const devices = deviceRepository(db);
  const nonces = nonceRepository(db);
  return async (request: FastifyRequest) => {
    const verified = await verifyRequestSignature(request.headers, {
      method: request.method,
      path: request.url,
      body: rawBodyOf(request),
    });
    if (!options.allowUnknownDevice && !(await devices.findByAddress(verified.device))) {
      throw new AuthError('device_unknown', `Device ${verified.device} is not registered; register it first.`);
    }
    if (!(await nonces.claim(verified.device, verified.nonce))) {
      throw new AuthError(
        'nonce_replayed',
        'This request was already received once; each signed request is accepted only once.',
      );
    }
    request.device = verified.device;
  };
}
