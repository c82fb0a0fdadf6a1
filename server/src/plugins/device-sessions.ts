import { createECDH, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthError, BaseError } from '@protocol/errors';
import { type ClaimedSession, type DeviceSession, sessionKeyInfo, sessionMacInput } from '@protocol/sessions';
import type { Address } from 'viem';

/**
 * The device sessions of one server process (see protocol/sessions.ts): opened by a signed handshake,
 * held in memory only, each checked per request by one HMAC and a replay window. Nothing here touches
 * the database: that is the point, a session request costs the server no round trip and no key recovery.
 */

export interface DeviceSessionLimits {
  /** How long a session is good for. */
  ttlSeconds: number;
  /** Sessions one device may hold at once; opening another forgets its oldest. */
  perDevice: number;
  /** Sessions this process holds at most (about 0.5 KB each); opening another forgets the oldest. */
  total: number;
  /** Counters accepted below the highest seen (a multiple of 32). */
  replayWindow: number;
}

export const defaultDeviceSessionLimits: DeviceSessionLimits = {
  ttlSeconds: 30 * 60,
  perDevice: 4,
  total: 200_000,
  replayWindow: 1024,
};

interface HeldSession {
  device: Address;
  key: Buffer;
  expiresAt: number;
  /** The highest counter accepted, and which of the `replayWindow` counters at or below it were. */
  highest: number;
  seen: Uint32Array;
}

export interface DeviceSessions {
  /** Opens a session for a device that proved its key, from the device's ephemeral P-256 public key (hex). */
  open(device: Address, devicePublicKey: string, serverOrigin: string): DeviceSession;
  /**
   * The device a session request comes from, once its MAC over this request checks and its counter is
   * fresh; the counter is spent only then. Throws `session_unknown`, `signature_invalid` or `nonce_replayed`.
   */
  verify(claimed: ClaimedSession, request: { method: string; path: string; bodyHash: string }): Address;
  /** Ends every session of a device (its row is gone): its next request must be signed, and is refused. */
  forgetDevice(device: Address): void;
  /** Whether this process holds a live session by this id: checked before a request's body is hashed. */
  holds(sessionId: string): boolean;
  /** How many sessions are held (for tests and the health figures). */
  size(): number;
  /** Sessions held, and session requests accepted and refused (bad MAC, replayed counter) since the start. */
  figures(): { held: number; accepted: number; refused: number };
}

/** The answer to a request naming a session this process does not hold. */
export function unknownSession(): AuthError {
  return new AuthError(
    'session_unknown',
    'This server holds no such device session (it expired, or was opened before a restart or on another server process); open a new one.',
  );
}

export function deviceSessions(
  limits: DeviceSessionLimits = defaultDeviceSessionLimits,
  now: () => number = Date.now,
): DeviceSessions {
  if (!(limits.replayWindow >= 32 && limits.replayWindow % 32 === 0)) {
    throw new RangeError('replayWindow must be a positive multiple of 32.');
  }
  // Opening a session forgets older ones until there is room: with no room it would never stop.
  if (!(limits.perDevice >= 1 && limits.total >= 1 && limits.ttlSeconds > 0)) {
    throw new RangeError('perDevice, total and ttlSeconds must be at least 1.');
  }
  // Insertion order is opening order, and every session lives as long: the first entries expire first.
  const sessions = new Map<string, HeldSession>();
  const byDevice = new Map<Address, string[]>();
  const words = limits.replayWindow / 32;
  const counts = { accepted: 0, refused: 0 };

  const forget = (sessionId: string) => {
    const held = sessions.get(sessionId);
    if (!held) return;
    sessions.delete(sessionId);
    const ids = byDevice.get(held.device)?.filter((id) => id !== sessionId) ?? [];
    if (ids.length === 0) byDevice.delete(held.device);
    else byDevice.set(held.device, ids);
  };

  const forgetExpired = (at: number) => {
    for (const [sessionId, held] of sessions) {
      if (held.expiresAt > at) break;
      forget(sessionId);
    }
  };

  const bit = (counter: number) => {
    const slot = counter % limits.replayWindow;
    return { word: slot >>> 5, mask: 1 << (slot & 31) };
  };

  return {
    open(device, devicePublicKey, serverOrigin) {
      const at = now();
      forgetExpired(at);
      const ecdh = createECDH('prime256v1');
      const serverPublicKey = ecdh.generateKeys('hex', 'uncompressed');
      let shared: Buffer;
      try {
        shared = ecdh.computeSecret(Buffer.from(devicePublicKey, 'hex'));
      } catch (cause) {
        throw new BaseError('bad_request', 'publicKey is not a point on P-256.', { cause });
      }
      const sessionId = randomBytes(16).toString('hex');
      const key = Buffer.from(
        hkdfSync('sha256', shared, Buffer.alloc(0), sessionKeyInfo(sessionId, device, serverOrigin), 32),
      );
      for (let own = byDevice.get(device) ?? []; own.length >= limits.perDevice; own = byDevice.get(device) ?? []) {
        forget(own[0] as string);
      }
      while (sessions.size >= limits.total) forget(sessions.keys().next().value as string);
      sessions.set(sessionId, {
        device,
        key,
        expiresAt: at + limits.ttlSeconds * 1000,
        highest: 0,
        seen: new Uint32Array(words),
      });
      byDevice.set(device, [...(byDevice.get(device) ?? []), sessionId]);
      return { sessionId, serverPublicKey, ttlSeconds: limits.ttlSeconds, replayWindow: limits.replayWindow };
    },

    forgetDevice(device) {
      for (const sessionId of byDevice.get(device) ?? []) forget(sessionId);
    },

    verify(claimed, request) {
      const held = sessions.get(claimed.sessionId);
      if (!held || held.expiresAt <= now()) {
        if (held) forget(claimed.sessionId);
        throw unknownSession();
      }
      const expected = createHmac('sha256', held.key)
        .update(sessionMacInput({ ...request, counter: claimed.counter }))
        .digest();
      if (!timingSafeEqual(expected, Buffer.from(claimed.mac, 'hex'))) {
        counts.refused += 1;
        throw new AuthError('signature_invalid', 'The session MAC does not match this request.');
      }
      const { counter } = claimed;
      if (counter > held.highest) {
        // Slide the window up: the slots of counters between the old highest and this one are fresh.
        if (counter - held.highest >= limits.replayWindow) held.seen.fill(0);
        else
          for (let skipped = held.highest + 1; skipped < counter; skipped += 1) {
            const { word, mask } = bit(skipped);
            held.seen[word] = (held.seen[word] as number) & ~mask;
          }
        held.highest = counter;
      } else if (held.highest - counter >= limits.replayWindow) {
        counts.refused += 1;
        throw new AuthError(
          'nonce_replayed',
          `Counter ${counter} is ${limits.replayWindow} or more below the highest this session has used; it cannot be told from a replay.`,
        );
      } else if ((held.seen[bit(counter).word] as number) & bit(counter).mask) {
        counts.refused += 1;
        throw new AuthError(
          'nonce_replayed',
          'This request was already received once; each session counter is accepted only once.',
        );
      }
      const { word, mask } = bit(counter);
      held.seen[word] = (held.seen[word] as number) | mask;
      counts.accepted += 1;
      return held.device;
    },

    holds: (sessionId) => (sessions.get(sessionId)?.expiresAt ?? 0) > now(),
    size: () => sessions.size,
    figures: () => ({ held: sessions.size, ...counts }),
  };
}
