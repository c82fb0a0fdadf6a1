import type { ErrorBody } from '@protocol/errors';
import { addressSchema } from '@protocol/primitives';
import { deviceLinkCodeSchema, deviceWalletSchema } from '@protocol/wallets';
import { z } from 'zod';

/**
 * A link code as the options page shows it: the server's code and expiry, with the device it links
 * and the server that issued it (the console to open is that server's, not whatever the settings say
 * by the time the person clicks).
 */
export const shownLinkCodeSchema = deviceLinkCodeSchema.extend({ device: addressSchema, serverUrl: z.string() });
export type ShownLinkCode = z.infer<typeof shownLinkCodeSchema>;

/** The device's wallet link as the server reported it, with the device and server it is about. */
export const shownDeviceWalletSchema = deviceWalletSchema.extend({ device: addressSchema, serverUrl: z.string() });
export type ShownDeviceWallet = z.infer<typeof shownDeviceWalletSchema>;

/**
 * The console is served by the Gleaner server itself, under the same address the extension talks to
 * (a path prefix behind a reverse proxy included); its pages are hash routes.
 */
function consoleBase(serverUrl: string): string {
  return serverUrl.replace(/\/+$/, '');
}

/** The console's link page, prefilled with this device and its code. */
export function consoleLinkUrl(serverUrl: string, device: string, code: string): string {
  const query = new URLSearchParams({ device, code });
  return `${consoleBase(serverUrl)}/#/rewards/link?${query}`;
}

/** The console's contributor dashboard. */
export function consoleDashboardUrl(serverUrl: string): string {
  return `${consoleBase(serverUrl)}/#/rewards`;
}

/** Time left before a code expires as `m:ss` (`0:00` once past), for a countdown that ticks each second. */
export function formatTimeLeft(expiresAtMs: number, nowMs: number): string {
  const seconds = Math.max(0, Math.ceil((expiresAtMs - nowMs) / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

function retryIn(body: ErrorBody): string {
  const details = body.details;
  const seconds =
    typeof details === 'object' && details !== null && 'retryAfterSeconds' in details
      ? Number((details as { retryAfterSeconds: unknown }).retryAfterSeconds)
      : Number.NaN;
  return Number.isFinite(seconds) && seconds > 0
    ? `Try again in ${Math.ceil(seconds)} second${seconds === 1 ? '' : 's'}.`
    : 'Try again in a minute.';
}

/** Why a link code or the wallet could not be read, in words for the options page. */
export function describeWalletLinkError(body: ErrorBody): string {
  switch (body.code) {
    case 'rate_limited':
      return `The server is refusing this device's requests for a moment: too many in the last minute. ${retryIn(body)}`;
    case 'overloaded':
      return `The server is too busy to answer right now. ${retryIn(body)}`;
    case 'device_unknown':
      return 'The server does not know this device yet. Wait until the connection says Connected, then try again.';
    default:
      // server_unreachable and the rest already say what happened and where.
      return body.message;
  }
}
