import { walletSignInStatement } from '@protocol/contributors';
import { readWalletLinkResources, walletLinkMessageFields } from '@protocol/wallets';
import { parseSiweMessage, validateSiweMessage } from 'viem/siwe';
import { describe, expect, it } from 'vitest';
import { buildWalletMessage } from './siwe-messages';

const address = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const device = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const location = { host: 'localhost:8787', origin: 'http://localhost:8787' };
const now = new Date('2026-03-01T12:00:00.000Z');
const base = { address, chainId: 31337, nonce: 'abcdef0123456789', location, now } as const;

describe('wallet messages', () => {
  it('signs in with the sign-in statement, this page’s domain and origin, and no resources', () => {
    const message = parseSiweMessage(buildWalletMessage({ ...base, purpose: { action: 'sign-in' } }));
    expect(message).toMatchObject({
      domain: 'localhost:8787',
      uri: 'http://localhost:8787',
      version: '1',
      chainId: 31337,
      nonce: 'abcdef0123456789',
      statement: walletSignInStatement,
    });
    expect(message.resources).toBeUndefined();
    expect(message.address?.toLowerCase()).toBe(address.toLowerCase());
  });

  it('names the device and its code when linking, exactly as the server rebuilds them', () => {
    const text = buildWalletMessage({ ...base, purpose: { action: 'link', device, code: 'ABCD2345' } });
    const message = parseSiweMessage(text);
    const expected = walletLinkMessageFields('link', device, 'ABCD2345');
    expect(message.statement).toBe(expected.statement);
    expect(message.resources).toEqual(expected.resources);
    expect(readWalletLinkResources(message.resources ?? [])).toEqual({ device, code: 'ABCD2345' });
  });

  it('names only the device when unlinking, so the message cannot be used to link', () => {
    const message = parseSiweMessage(buildWalletMessage({ ...base, purpose: { action: 'unlink', device } }));
    expect(message.statement).toBe(walletLinkMessageFields('unlink', device).statement);
    expect(readWalletLinkResources(message.resources ?? [])).toEqual({ device, code: undefined });
  });

  it('is valid now and expires about ten minutes after it is made', () => {
    const message = parseSiweMessage(buildWalletMessage({ ...base, purpose: { action: 'sign-in' } }));
    expect(message.issuedAt?.toISOString()).toBe('2026-03-01T12:00:00.000Z');
    expect(message.expirationTime?.toISOString()).toBe('2026-03-01T12:10:00.000Z');
    expect(validateSiweMessage({ message, domain: 'localhost:8787', time: new Date('2026-03-01T12:09:00Z') })).toBe(
      true,
    );
    expect(validateSiweMessage({ message, time: new Date('2026-03-01T12:11:00Z') })).toBe(false);
  });
});
