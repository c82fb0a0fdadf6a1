import { type Device, deviceRegistrationSchema } from '@protocol/devices';
import { BaseError, type ErrorBody, httpStatusOf } from '@protocol/errors';
import { verifyRequestSignature } from '@protocol/signing';
import type { Address } from 'viem';
import type { FetchFn } from '../api-client';

interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  credentials: RequestCredentials | undefined;
  body: string;
}

/**
 * For tests only: answers `/v1/devices` and `/v1/devices/me` like the Gleaner server does,
 * verifying each request's signature over the exact method, path and body bytes received.
 */
export function createFakeGleanerServer(options: { origin?: string } = {}) {
  const origin = options.origin ?? 'http://127.0.0.1:8787';
  const devices = new Map<Address, Device>();
  const received: ReceivedRequest[] = [];
  const seenNonces = new Set<string>();
  let reachable = true;

  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const fail = (error: ErrorBody) => json(httpStatusOf(error.code), error);

  const fetch: FetchFn = async (input, init) => {
    const url = new URL(input);
    if (!reachable || url.origin !== origin) throw new TypeError('Failed to fetch');
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const bytes = init.body instanceof Uint8Array ? init.body : new Uint8Array();
    const path = `${url.pathname}${url.search}`;
    const method = init.method ?? 'GET';
    received.push({ method, path, headers, credentials: init.credentials, body: new TextDecoder().decode(bytes) });

    let device: Address;
    try {
      ({ device } = await verifyRequestSignature(headers, { method, path, body: bytes }));
    } catch (error) {
      if (error instanceof BaseError) return fail(error.toBody());
      throw error;
    }
    const nonce = headers['x-gleaner-nonce'] ?? '';
    if (seenNonces.has(nonce)) return fail({ code: 'nonce_replayed', message: 'This request was already received.' });
    seenNonces.add(nonce);

    if (method === 'POST' && url.pathname === '/v1/devices') {
      const registration = deviceRegistrationSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
      if (!registration.success) return fail({ code: 'bad_request', message: 'Invalid registration.' });
      const now = new Date().toISOString();
      const known = devices.get(device);
      const record: Device = {
        address: device,
        extensionVersion: registration.data.extensionVersion,
        browser: registration.data.browser,
        registeredAt: known?.registeredAt ?? now,
        lastSeenAt: now,
      };
      devices.set(device, record);
      return json(known ? 200 : 201, record);
    }
    if (method === 'GET' && url.pathname === '/v1/devices/me') {
      const known = devices.get(device);
      if (!known)
        return fail({ code: 'device_unknown', message: `Device ${device} is not registered; register it first.` });
      return json(200, { ...known, lastSeenAt: new Date().toISOString() });
    }
    return fail({ code: 'not_found', message: `No route ${method} ${url.pathname}.` });
  };

  return {
    origin,
    fetch,
    devices,
    received,
    /** Simulates the network or the server being down (fetch rejects, as browsers do). */
    setReachable(value: boolean) {
      reachable = value;
    },
  };
}
export type FakeGleanerServer = ReturnType<typeof createFakeGleanerServer>;
