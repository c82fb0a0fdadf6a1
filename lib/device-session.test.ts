import { type DeviceSession, generateSessionKeyPair, maxSessionCounter } from '@protocol/sessions';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  acquireDeviceSession,
  dropDeviceSession,
  forgetDeviceSessions,
  refusalsBeforePlain,
  type SessionOpener,
  unstickyRetryMs,
} from './device-session';

const server = 'https://gleaner.example.org';
const device = '0x1111111111111111111111111111111111111111';

/** A server's side of handshakes: a real P-256 key per session, so the device can derive its key. */
function opener(): SessionOpener & { opened: number } {
  const open = Object.assign(
    async (): Promise<DeviceSession> => {
      open.opened += 1;
      const { publicKey } = await generateSessionKeyPair();
      return {
        sessionId: open.opened.toString(16).padStart(32, '0'),
        serverPublicKey: publicKey,
        ttlSeconds: 1800,
        replayWindow: 1024,
      };
    },
    { opened: 0 },
  );
  return open;
}

const now = () => Date.parse('2025-06-01T12:00:00Z');

beforeEach(() => forgetDeviceSessions());

describe('device sessions', () => {
  it('keeps the new session when a request on the old one is refused late', async () => {
    const open = opener();
    const first = await acquireDeviceSession(server, device, now, open);
    const second = await acquireDeviceSession(server, device, now, open);
    if (!first || !second) throw new Error('expected a session');
    expect(second.session).toBe(first.session);
    // The first request's refusal drops the session; a third request opens another...
    dropDeviceSession(server, device, first.session, 'refused', now());
    const third = await acquireDeviceSession(server, device, now, open);
    // ...and the second request's refusal, arriving after, must not drop that one.
    dropDeviceSession(server, device, second.session, 'refused', now());
    const fourth = await acquireDeviceSession(server, device, now, open);
    expect(fourth?.session).toBe(third?.session);
    expect(fourth?.session).not.toBe(first.session);
    expect(open.opened).toBe(2);
  });

  it('opens a new session rather than pass the highest counter', async () => {
    const open = opener();
    const ticket = await acquireDeviceSession(server, device, now, open);
    if (!ticket) throw new Error('expected a session');
    ticket.session.counter = maxSessionCounter - 1;
    expect((await acquireDeviceSession(server, device, now, open))?.counter).toBe(maxSessionCounter);
    const next = await acquireDeviceSession(server, device, now, open);
    expect(next?.counter).toBe(1);
    expect(open.opened).toBe(2);
  });

  it('keeps sessions apart per device and per server', async () => {
    const open = opener();
    const a = await acquireDeviceSession(server, device, now, open);
    const b = await acquireDeviceSession(server, '0x2222222222222222222222222222222222222222', now, open);
    const c = await acquireDeviceSession('https://other.example.org', device, now, open);
    expect(new Set([a?.session, b?.session, c?.session]).size).toBe(3);
    expect([a?.counter, b?.counter, c?.counter]).toEqual([1, 1, 1]);
  });

  it('forgets a failed handshake so the next request tries again', async () => {
    const open = opener();
    let tried = 0;
    const failing: SessionOpener = async () => {
      tried += 1;
      throw new Error('no answer');
    };
    await expect(
      Promise.all([
        acquireDeviceSession(server, device, now, failing),
        acquireDeviceSession(server, device, now, failing),
      ]),
    ).rejects.toThrow('no answer');
    // Both requests waited on one handshake.
    expect(tried).toBe(1);
    expect((await acquireDeviceSession(server, device, now, open))?.counter).toBe(1);
    expect(open.opened).toBe(1);
  });
});

describe('a session the server makes too short to use', () => {
  it('sends the request signed instead of opening sessions for ever when each expires before its handshake ends', async () => {
    // A one-second lifetime and handshakes that take longer: every session is past use when it arrives.
    let clock = now();
    let opened = 0;
    const slow: SessionOpener = async () => {
      opened += 1;
      if (opened > 5) throw new Error('still opening sessions after 5 handshakes');
      clock += 1_000;
      const { publicKey } = await generateSessionKeyPair();
      return { sessionId: '0'.repeat(32), serverPublicKey: publicKey, ttlSeconds: 1, replayWindow: 1024 };
    };
    expect(await acquireDeviceSession(server, device, () => clock, slow)).toBeNull();
    expect(opened).toBe(1);
    // Nor does each later request pay for a handshake that cannot help it.
    expect(await acquireDeviceSession(server, device, () => clock, slow)).toBeNull();
    expect(opened).toBe(1);
  });
});

describe('a handshake this browser cannot complete', () => {
  it('sends the request signed when the server answers a public key WebCrypto will not take', async () => {
    let opened = 0;
    // Well formed for the schema, but no point on P-256: importing it fails on the device's side.
    const offCurve: SessionOpener = async () => {
      opened += 1;
      return {
        sessionId: '0'.repeat(32),
        serverPublicKey: `04${'11'.repeat(64)}`,
        ttlSeconds: 1800,
        replayWindow: 1024,
      };
    };
    expect(await acquireDeviceSession(server, device, now, offCurve)).toBeNull();
    expect(await acquireDeviceSession(server, device, now, offCurve)).toBeNull();
    expect(opened).toBe(1);
  });

  it('signs every request for a while once a server refuses the MACs or counters of several sessions within a minute', async () => {
    const open = opener();
    let clock = now();
    const at = () => clock;
    for (let refused = 1; refused < refusalsBeforePlain; refused += 1) {
      const ticket = await acquireDeviceSession(server, device, at, open);
      if (!ticket) throw new Error(`expected a session after ${refused - 1} refusals`);
      dropDeviceSession(server, device, ticket.session, 'refused', clock);
      clock += 1_000;
    }
    const last = await acquireDeviceSession(server, device, at, open);
    if (!last) throw new Error('expected a session before the last refusal');
    dropDeviceSession(server, device, last.session, 'refused', clock);
    expect(await acquireDeviceSession(server, device, at, open)).toBeNull();
    expect(open.opened).toBe(refusalsBeforePlain);
    clock += unstickyRetryMs;
    expect(await acquireDeviceSession(server, device, at, open)).not.toBeNull();
  });
});
