import { BaseError, type ErrorBody, httpStatusOf } from '@protocol/errors';
import { type DeviceLinkCode, linkCodeAlphabet, linkCodeLength, type WalletLink } from '@protocol/wallets';
import type { Address } from 'viem';
import type { FetchFn } from '../api-client';
import { authenticatedDeviceHeader, type FakeGleanerServer } from './fake-gleaner-server';

const linkCodeLifetimeMs = 10 * 60_000;

/**
 * For tests only: the fake server plus the device's wallet routes (`POST /v1/devices/me/link-code`,
 * `GET /v1/devices/me/wallet`) as the real server answers them. Every request goes through the fake
 * server first, so its signature, session and nonce checks, its request log, `setReachable` and `misbehave`
 * apply; only its `not_found` for these two routes is replaced by their answer. `linkWithCode` plays
 * the console's side: a wallet spends a live code.
 */
export function withFakeWalletRoutes(server: FakeGleanerServer, now: () => number) {
  const codes = new Map<string, { device: Address; expiresAt: number; used: boolean }>();
  const links = new Map<Address, WalletLink>();
  let drawn = 0;

  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  const fail = (error: ErrorBody) => json(httpStatusOf(error.code), error);

  /** Distinct, valid codes in a known order, so a test can tell a fresh code from the last one. */
  const nextCode = () => {
    drawn += 1;
    let n = drawn;
    let code = '';
    for (let i = 0; i < linkCodeLength; i++) {
      code = linkCodeAlphabet[n % linkCodeAlphabet.length] + code;
      n = Math.floor(n / linkCodeAlphabet.length);
    }
    return code;
  };

  const fetch: FetchFn = async (input, init) => {
    const answered = await server.fetch(input, init);
    const url = new URL(input);
    const method = init.method ?? 'GET';
    const ours =
      (method === 'POST' && url.pathname === '/v1/devices/me/link-code') ||
      (method === 'GET' && url.pathname === '/v1/devices/me/wallet');
    if (!ours || answered.status !== 404) return answered;

    // The fake server checked the signature or session (and spent its nonce or counter) before its 404.
    const device = answered.headers.get(authenticatedDeviceHeader) as Address | null;
    if (!device) throw new Error('the fake server answered 404 without naming the device it authenticated');
    if (!server.devices.has(device)) {
      return fail({ code: 'device_unknown', message: `Device ${device} is not registered; register it first.` });
    }
    if (url.pathname === '/v1/devices/me/wallet') return json(200, { link: links.get(device) ?? null });
    const code = nextCode();
    const expiresAt = now() + linkCodeLifetimeMs;
    codes.set(code, { device, expiresAt, used: false });
    return json(201, { code, expiresAt: new Date(expiresAt).toISOString() } satisfies DeviceLinkCode);
  };

  return {
    fetch,
    /** Links the code's device to `wallet` as the console would after a valid SIWE signature; throws on a bad code. */
    linkWithCode(code: string, wallet: Address): WalletLink {
      const entry = codes.get(code);
      if (!entry) throw new BaseError('link_code_invalid', `No link code ${code}.`);
      if (entry.used) throw new BaseError('link_code_used', `Link code ${code} was already used.`);
      if (entry.expiresAt <= now()) throw new BaseError('link_code_expired', `Link code ${code} has expired.`);
      entry.used = true;
      const link: WalletLink = {
        device: entry.device,
        wallet,
        linkedAt: new Date(now()).toISOString(),
        unlinkedAt: null,
      };
      links.set(entry.device, link);
      return link;
    },
  };
}
