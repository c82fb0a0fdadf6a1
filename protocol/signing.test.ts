import { bytesToHex, type Hex, hashTypedData, recoverAddress, recoverTypedDataAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount, sign } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { AuthError } from './errors';
import {
  checkRequestSigner,
  type DigestSigner,
  defaultChainId,
  hashBody,
  type RequestMessage,
  type RequestToSign,
  readSignatureHeaders,
  requestDigest,
  requestDomain,
  requestTypes,
  type SigningServer,
  signatureHeaders,
  signRequest,
  verifyRequestSignature,
} from './signing';

const device = privateKeyToAccount(generatePrivateKey());
const other = privateKeyToAccount(generatePrivateKey());
const body = new TextEncoder().encode('{"extensionVersion":"0.1.0","browser":"chrome"}');
const request: RequestToSign = { method: 'POST', path: '/v1/devices', body };
const server: SigningServer = { origin: 'https://gleaner.example', chainId: defaultChainId };
const thisServer = { origins: [server.origin], chainId: server.chainId };

async function rejection(promise: Promise<unknown>): Promise<AuthError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AuthError);
  return error as AuthError;
}

describe('device request signing', () => {
  it('verifies what it signed and returns the device address', async () => {
    const headers = await signRequest(device, request, server);
    const verified = await verifyRequestSignature(headers, request, thisServer);
    expect(verified.device).toBe(device.address);
    expect(verified.nonce).toBe(headers[signatureHeaders.nonce]);
  });

  it('uses a new nonce for every request', async () => {
    const first = await signRequest(device, request, server);
    const second = await signRequest(device, request, server);
    expect(first[signatureHeaders.nonce]).not.toBe(second[signatureHeaders.nonce]);
  });

  it.each([
    ['body', { ...request, body: new TextEncoder().encode('{"extensionVersion":"9.9.9","browser":"chrome"}') }],
    ['path', { ...request, path: '/v1/devices?x=1' }],
    ['method', { ...request, method: 'PUT' }],
  ])('rejects a request whose %s changed after signing', async (_what, changed) => {
    const headers = await signRequest(device, request, server);
    expect((await rejection(verifyRequestSignature(headers, changed, thisServer))).code).toBe('signature_invalid');
  });

  it('rejects a signature made by a different key than the device named', async () => {
    const headers = { ...(await signRequest(other, request, server)), [signatureHeaders.device]: device.address };
    expect((await rejection(verifyRequestSignature(headers, request, thisServer))).code).toBe('signature_invalid');
  });

  it.each([
    ['six minutes old', -6 * 60_000],
    ['six minutes ahead', 6 * 60_000],
  ])('rejects a timestamp %s as stale', async (_what, offset) => {
    const headers = await signRequest(device, request, server, new Date(Date.now() + offset));
    const error = await rejection(verifyRequestSignature(headers, request, thisServer));
    expect(error.code).toBe('timestamp_stale');
    expect(error.message).toMatch(/clock/);
  });

  it('accepts a timestamp four minutes off', async () => {
    const headers = await signRequest(device, request, server, new Date(Date.now() - 4 * 60_000));
    await expect(verifyRequestSignature(headers, request, thisServer)).resolves.toMatchObject({
      device: device.address,
    });
  });

  it.each(Object.values(signatureHeaders))('names a missing %s header', async (name) => {
    const headers: Record<string, string> = { ...(await signRequest(device, request, server)) };
    delete headers[name];
    const error = await rejection(verifyRequestSignature(headers, request, thisServer));
    expect(error.code).toBe('signature_missing');
    expect(error.message).toContain(name);
  });

  it.each([
    [signatureHeaders.device, '0x1234'],
    [signatureHeaders.timestamp, 'yesterday'],
    [signatureHeaders.nonce, '0xabc'],
    [signatureHeaders.signature, 'not-hex'],
    [signatureHeaders.signature, `0x${'00'.repeat(65)}`],
  ])('rejects a malformed %s header (%s)', async (name, value) => {
    const headers = { ...(await signRequest(device, request, server)), [name]: value };
    expect((await rejection(verifyRequestSignature(headers, request, thisServer))).code).toBe('signature_invalid');
  });

  it('refuses a request signed for another server, even when it claims this one', async () => {
    const elsewhere: SigningServer = { origin: 'https://other-gleaner.example', chainId: defaultChainId };
    const headers = await signRequest(device, request, elsewhere);
    expect((await rejection(verifyRequestSignature(headers, request, thisServer))).code).toBe('signature_wrong_server');
    const relabelled = { ...headers, [signatureHeaders.server]: server.origin };
    expect((await rejection(verifyRequestSignature(relabelled, request, thisServer))).code).toBe('signature_invalid');
  });

  it('refuses a request signed for this server on another chain', async () => {
    const headers = await signRequest(device, request, { origin: server.origin, chainId: 1 });
    expect((await rejection(verifyRequestSignature(headers, request, thisServer))).code).toBe('signature_invalid');
  });

  it('refuses the high-s twin of a valid signature (malleability)', async () => {
    const headers = await signRequest(device, request, server);
    const signature = headers[signatureHeaders.signature];
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${signature.slice(66, 130)}`);
    const v = Number.parseInt(signature.slice(130, 132), 16);
    const twin = `${signature.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}`;
    // The twin is a valid ECDSA signature of the same message by the same key: only the low-s rule refuses it.
    const recovered = await recoverTypedDataAddress({
      domain: requestDomain(server),
      types: requestTypes,
      primaryType: 'Request',
      message: {
        method: 'POST',
        path: request.path,
        bodyHash: hashBody(request.body),
        timestamp: BigInt(headers[signatureHeaders.timestamp]),
        nonce: headers[signatureHeaders.nonce] as `0x${string}`,
      },
      signature: twin as `0x${string}`,
    });
    expect(recovered).toBe(device.address);
    const error = await rejection(
      verifyRequestSignature({ ...headers, [signatureHeaders.signature]: twin }, request, thisServer),
    );
    expect(error.code).toBe('signature_invalid');
    expect(error.message).toMatch(/low-s/);
  });
});

/** A small seeded generator, so a failing random case can be run again from its seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Random text mixing ASCII, percent escapes, accents, CJK, emoji (surrogate pairs), lone surrogates and NUL. */
function randomText(random: () => number, maxLength: number): string {
  const pieces = [
    '/',
    'v1',
    '?q=',
    '%2F',
    '&',
    'é',
    'e\u0301',
    '数据',
    '🦊',
    '\ud800',
    '\udfff',
    '\u0000',
    ' ',
    '#',
    'Z',
  ];
  let text = '';
  const length = Math.floor(random() * maxLength);
  for (let i = 0; i < length; i += 1) text += pieces[Math.floor(random() * pieces.length)];
  return text;
}

function randomHex32(random: () => number): Hex {
  const hex = Array.from({ length: 64 }, () => '0123456789abcdefABCDEF'[Math.floor(random() * 22)]).join('');
  return `0x${hex}`;
}

describe('request digest', () => {
  it("equals viem's hashTypedData for random requests, servers and chains, unicode included", () => {
    const seed = Date.now();
    const random = seededRandom(seed);
    const edgeTimestamps = [0n, 1n, 2n ** 53n, 2n ** 64n - 1n];
    // More servers than the domain cache holds, so entries are evicted and built again.
    const servers: SigningServer[] = Array.from({ length: 100 }, (_, i) => ({
      origin: i === 0 ? '' : `https://${randomText(random, 6)}.example`,
      chainId: [1, defaultChainId, 2 ** 53 - 1, Math.floor(random() * 1e9)][i % 4] ?? 1,
    }));
    for (let i = 0; i < 500; i += 1) {
      const server = servers[Math.floor(random() * servers.length)] ?? servers[0];
      if (!server) throw new Error('no server');
      const message: RequestMessage = {
        method: ['GET', 'POST', 'PUT', 'get', 'DELETE', 'ÉTÉ'][i % 6] ?? 'GET',
        path: randomText(random, 40),
        bodyHash: randomHex32(random),
        timestamp: edgeTimestamps[i] ?? BigInt(Math.floor(random() * 2 ** 32)) * BigInt(Math.floor(random() * 2 ** 32)),
        nonce: randomHex32(random),
      };
      const expected = hashTypedData({
        domain: requestDomain(server),
        types: requestTypes,
        primaryType: 'Request',
        message,
      });
      expect(bytesToHex(requestDigest(server, message)), `seed ${seed}, case ${i}`).toBe(expected);
    }
  });

  it('refuses a timestamp outside uint64 and a nonce that is not 32 bytes, as viem does', () => {
    const message: RequestMessage = {
      method: 'GET',
      path: '/',
      bodyHash: `0x${'00'.repeat(32)}`,
      timestamp: 2n ** 64n,
      nonce: `0x${'11'.repeat(32)}`,
    };
    const typed = { domain: requestDomain(server), types: requestTypes, primaryType: 'Request' } as const;
    expect(() => hashTypedData({ ...typed, message })).toThrow();
    expect(() => requestDigest(server, message)).toThrow(/uint64/);
    const shortNonce = { ...message, timestamp: 1n, nonce: '0x11' as Hex };
    expect(() => hashTypedData({ ...typed, message: shortNonce })).toThrow();
    expect(() => requestDigest(server, shortNonce)).toThrow(/32 bytes/);
  });

  it('signs through a digest signer exactly the bytes the account signs', async () => {
    const privateKey = generatePrivateKey();
    const account = privateKeyToAccount(privateKey);
    const signer: DigestSigner = {
      address: account.address,
      signDigest: (digest) => sign({ hash: bytesToHex(digest), privateKey, to: 'hex' }),
    };
    const headers = await signRequest(signer, request, server);
    const bySigner = headers[signatureHeaders.signature];
    const byAccount = await account.signTypedData({
      domain: requestDomain(server),
      types: requestTypes,
      primaryType: 'Request',
      message: {
        method: 'POST',
        path: request.path,
        bodyHash: hashBody(request.body),
        timestamp: BigInt(headers[signatureHeaders.timestamp]),
        nonce: headers[signatureHeaders.nonce] as Hex,
      },
    });
    expect(bySigner).toBe(byAccount);
    await expect(verifyRequestSignature(headers, request, thisServer)).resolves.toMatchObject({
      device: account.address,
    });
  });

  it('compares the recovered signer with the device whatever the letter case of either', async () => {
    const headers = await signRequest(
      device,
      { method: 'GET', path: '/v1/devices/me', body: new Uint8Array() },
      server,
    );
    const claimed = readSignatureHeaders({ ...headers, [signatureHeaders.device]: device.address.toLowerCase() });
    const upperCase = async (digest: Uint8Array, signature: Hex) =>
      `0x${(await recoverAddress({ hash: digest, signature })).slice(2).toUpperCase()}`;
    const bodyHash = hashBody(new Uint8Array());
    await expect(
      checkRequestSigner(claimed, { method: 'get', path: '/v1/devices/me', bodyHash }, server.chainId, upperCase),
    ).resolves.toBeUndefined();
    await expect(
      checkRequestSigner(claimed, { method: 'GET', path: '/v1/devices/you', bodyHash }, server.chainId, upperCase),
    ).rejects.toMatchObject({ code: 'signature_invalid' });
  });
});
