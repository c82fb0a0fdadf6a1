import {
  type DeviceSession,
  deriveDeviceSessionKey,
  generateSessionKeyPair,
  maxSessionCounter,
} from '@protocol/sessions';

/**
 * The device sessions this extension holds (protocol/sessions.ts), one per server origin and device key,
 * in the memory of the background: it makes a new API client per operation, so the cache lives here and
 * not in a client. A lost cache (the service worker stopped) only costs one more handshake.
 */

/** A session as the device holds it: the HMAC key never leaves this object. */
export interface HeldSession {
  sessionId: string;
  key: CryptoKey;
  /** When the handshake was sent, on the client's clock. */
  openedAt: number;
  /** Past this the device opens a new session rather than risk one the server is about to forget. */
  usableUntil: number;
  /** The last counter handed out; the next request takes the one after. */
  counter: number;
}

/** One request's use of a session: the session and the counter that is this request's alone. */
export interface SessionTicket {
  session: HeldSession;
  counter: number;
}

/**
 * Sends the signed handshake for this ephemeral public key: the server's answer, or `'unsupported'` when the
 * server answered that it will not open one (an older server without the route). Any other failure rejects
 * and becomes the failure of the requests waiting on it.
 */
export type SessionOpener = (publicKey: string) => Promise<DeviceSession | 'unsupported'>;

/** Opened this long before the server's expiry, a session is replaced, so clock drift and transit never meet it. */
const expiryMarginMs = 60_000;
/** A server that will not open sessions is asked again after this long (it may have been upgraded). */
export const unsupportedRetryMs = 60 * 60_000;
/**
 * A session the server forgets this soon after opening it was most likely opened on another replica behind
 * a load balancer without stickiness: every session would die the same way, so none is tried for a while.
 */
const unstickyWithinMs = 60_000;
export const unstickyRetryMs = 10 * 60_000;

interface Slot {
  /** The handshake in flight, shared by every request that needs this session meanwhile. */
  opening: Promise<HeldSession | null>;
  /** Set once the handshake succeeded. */
  held: HeldSession | null;
}

const slots = new Map<string, Slot>();
/** Server origins that get per-request signatures only, until the time given. */
const plainUntil = new Map<string, number>();
/** When each server last refused a session request's MAC or counter (within the last minute). */
const refusals = new Map<string, number[]>();
/** Refusals within a minute after which a server gets per-request signatures for `unstickyRetryMs`. */
export const refusalsBeforePlain = 3;

const slotKey = (server: string, device: string) => `${server}\n${device.toLowerCase()}`;

function takeCounter(session: HeldSession): number {
  session.counter += 1;
  return session.counter;
}

function isUsable(session: HeldSession, at: number): boolean {
  return at < session.usableUntil && session.counter < maxSessionCounter;
}

/**
 * A session (and a fresh counter) for one request from `device` to `server`, opening one with `open` when
 * none is held or it is about to expire; null when this server gets per-request signatures for now.
 * Concurrent callers share one handshake. The counter is taken with no await between reading the session and
 * incrementing it, so no two requests ever get the same one.
 */
export async function acquireDeviceSession(
  server: string,
  device: string,
  now: () => number,
  open: SessionOpener,
): Promise<SessionTicket | null> {
  const at = now();
  const until = plainUntil.get(server);
  if (until !== undefined) {
    if (at < until) return null;
    plainUntil.delete(server);
  }
  const key = slotKey(server, device);
  let slot = slots.get(key);
  if (slot?.held && !isUsable(slot.held, at)) {
    slots.delete(key);
    slot = undefined;
  }
  if (slot?.held) return { session: slot.held, counter: takeCounter(slot.held) };
  if (!slot) slot = startOpening(server, device, key, at, open);
  const session = await slot.opening;
  if (session === null) return null;
  const arrived = now();
  if (!isUsable(session, arrived)) {
    // Only after very many requests racing for a fresh session could its counters be used up already: start over.
    if (session.counter >= maxSessionCounter) return acquireDeviceSession(server, device, now, open);
    // Past use as it arrived (a lifetime shorter than the handshake took): another handshake would most
    // likely end the same way, and starting over would then never end, so this server gets signatures for a while.
    plainUntil.set(server, arrived + unstickyRetryMs);
    return null;
  }
  return { session, counter: takeCounter(session) };
}

function startOpening(server: string, device: string, key: string, at: number, open: SessionOpener): Slot {
  const slot: Slot = { opening: Promise.resolve(null), held: null };
  const plainForAWhile = (): null => {
    plainUntil.set(server, at + unsupportedRetryMs);
    return null;
  };
  slot.opening = (async () => {
    try {
      // This browser's WebCrypto failing (no ECDH or HKDF, or a server key it will not import) is the session's
      // fault, not the request's: the request goes signed, as for a server that does not open sessions.
      const pair = await generateSessionKeyPair().catch(() => null);
      if (pair === null) return plainForAWhile();
      const answer = await open(pair.publicKey);
      if (answer === 'unsupported') return plainForAWhile();
      const key = await deriveDeviceSessionKey(pair.privateKey, answer, device, server).catch(() => null);
      if (key === null) return plainForAWhile();
      const held: HeldSession = {
        sessionId: answer.sessionId,
        key,
        openedAt: at,
        // A server with a lifetime shorter than twice the margin still gets half of it used.
        usableUntil: at + answer.ttlSeconds * 1000 - Math.min(expiryMarginMs, (answer.ttlSeconds * 1000) / 2),
        counter: 0,
      };
      slot.held = held;
      return held;
    } finally {
      // A failed handshake is not remembered: the next request tries again.
      if (!slot.held && slots.get(key) === slot) slots.delete(key);
    }
  })();
  slots.set(key, slot);
  return slot;
}

/**
 * Forgets a session the server refused (`session_unknown`, or a MAC or counter it would not take: the session
 * may be corrupt), unless another has replaced it already. A session unknown within a minute of opening means
 * sessions do not survive between this server's processes: per-request signatures for a while.
 */
export function dropDeviceSession(
  server: string,
  device: string,
  session: HeldSession,
  reason: 'session_unknown' | 'refused',
  at: number,
): void {
  const key = slotKey(server, device);
  if (slots.get(key)?.held === session) slots.delete(key);
  if (reason === 'session_unknown' && at - session.openedAt < unstickyWithinMs) {
    plainUntil.set(server, at + unstickyRetryMs);
    return;
  }
  if (reason === 'refused') {
    // One refused MAC or counter is a race or a corrupt session; several within a minute is a server that
    // will not take this client's sessions, and each costs a handshake and a resend: sign for a while.
    const recent = (refusals.get(server) ?? []).filter((when) => at - when < unstickyWithinMs);
    recent.push(at);
    if (recent.length >= refusalsBeforePlain) {
      plainUntil.set(server, at + unstickyRetryMs);
      refusals.delete(server);
    } else refusals.set(server, recent);
  }
}

/** For tests: forgets every session and every server that was found not to take them. */
export function forgetDeviceSessions(): void {
  slots.clear();
  plainUntil.clear();
  refusals.clear();
}
