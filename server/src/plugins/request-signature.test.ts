import { AuthError } from '@protocol/errors';
import {
  type ClaimedSignature,
  checkRequestSigner,
  checkSignedServer,
  defaultChainId,
  hashBody,
  type RequestToSign,
  readSignatureHeaders,
  requestDigest,
  requestDomain,
  requestTypes,
  type SigningServer,
  signatureHeaders,
  signRequest,
} from '@protocol/signing';
import * as secp256k1 from 'tiny-secp256k1';
import { bytesToHex, type Hex, recoverTypedDataAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount, sign } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../aggregation/synthetic-crowd';
import { libsecp256k1Signer, recoverSignerWithLibsecp256k1 } from './request-signature';

const server: SigningServer = { origin: 'https://gleaner.example', chainId: defaultChainId };
const sibling: SigningServer = { origin: 'https://also.gleaner.example', chainId: defaultChainId };
const origins = [server.origin, sibling.origin];
const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

type Verdict = 'accepted' | { code: string; message: string };

/** The server's check before libsecp256k1, verbatim: viem's typed-data recovery and a checksummed comparison. */
async function checkedByViem(claimed: ClaimedSignature, request: RequestToSign, chainId: number): Promise<void> {
  let signer: string;
  try {
    signer = await recoverTypedDataAddress({
      domain: requestDomain({ origin: claimed.server, chainId }),
      types: requestTypes,
      primaryType: 'Request',
      message: {
        method: request.method.toUpperCase(),
        path: request.path,
        bodyHash: hashBody(request.body),
        timestamp: BigInt(claimed.timestamp),
        nonce: claimed.nonce,
      },
      signature: claimed.signature,
    });
  } catch (cause) {
    throw new AuthError('signature_invalid', 'The signature could not be read.', { cause });
  }
  if (signer !== claimed.device) {
    throw new AuthError('signature_invalid', 'The signature does not match the device and request it claims.');
  }
}

/** What the server answers a request, with the signer check done the old way or the new way. */
async function verdict(
  how: 'viem' | 'libsecp256k1',
  headers: Record<string, string>,
  request: RequestToSign,
  chainId = defaultChainId,
): Promise<Verdict> {
  try {
    const claimed = readSignatureHeaders(headers);
    checkSignedServer(claimed, origins);
    if (how === 'viem') await checkedByViem(claimed, request, chainId);
    else {
      await checkRequestSigner(
        claimed,
        { method: request.method, path: request.path, bodyHash: hashBody(request.body) },
        chainId,
        recoverSignerWithLibsecp256k1,
      );
    }
    return 'accepted';
  } catch (error) {
    if (!(error instanceof AuthError)) throw error;
    return { code: error.code, message: error.message };
  }
}

const hex64 = (value: bigint) => value.toString(16).padStart(64, '0');

/** Replaces a signature's r, s or v (given as numbers) in its header. */
function withSignature(
  headers: Record<string, string>,
  change: { r?: bigint; s?: bigint; v?: number },
): Record<string, string> {
  const signature = headers[signatureHeaders.signature] ?? '';
  const r = change.r === undefined ? signature.slice(2, 66) : hex64(change.r);
  const s = change.s === undefined ? signature.slice(66, 130) : hex64(change.s);
  const v = change.v === undefined ? signature.slice(130, 132) : change.v.toString(16).padStart(2, '0');
  return { ...headers, [signatureHeaders.signature]: `0x${r}${s}${v}` };
}

const randomBytes32 = (random: () => number) =>
  BigInt(`0x${Array.from({ length: 64 }, () => '0123456789abcdef'[Math.floor(random() * 16)]).join('')}`);

describe('signature recovery on libsecp256k1', () => {
  const device = privateKeyToAccount(generatePrivateKey());
  const request: RequestToSign = {
    method: 'POST',
    path: '/v1/results?batch=數據-🦊',
    body: new TextEncoder().encode('{"pages":[]}'),
  };

  it('accepts what viem signs, for this server and its sibling origin, with v as 27/28 or as 0/1', async () => {
    for (const signedFor of [server, sibling]) {
      const headers = await signRequest(device, request, signedFor);
      expect(await verdict('libsecp256k1', headers, request)).toBe('accepted');
      const v = Number.parseInt(headers[signatureHeaders.signature].slice(130), 16);
      expect(await verdict('libsecp256k1', withSignature(headers, { v: v - 27 }), request)).toBe('accepted');
    }
  });

  it.each([
    ['method', (headers: Record<string, string>) => ({ headers, request: { ...request, method: 'PUT' } })],
    ['path', (headers: Record<string, string>) => ({ headers, request: { ...request, path: '/v1/results?batch=2' } })],
    [
      'body',
      (headers: Record<string, string>) => ({ headers, request: { ...request, body: new TextEncoder().encode('{}') } }),
    ],
    [
      'timestamp',
      (headers: Record<string, string>) => ({
        headers: { ...headers, [signatureHeaders.timestamp]: String(Number(headers[signatureHeaders.timestamp]) - 1) },
        request,
      }),
    ],
    [
      'nonce',
      (headers: Record<string, string>) => ({
        headers: { ...headers, [signatureHeaders.nonce]: `0x${'0'.repeat(64)}` },
        request,
      }),
    ],
    [
      'server',
      (headers: Record<string, string>) => ({
        headers: { ...headers, [signatureHeaders.server]: sibling.origin },
        request,
      }),
    ],
    [
      'device',
      (headers: Record<string, string>) => ({
        headers: { ...headers, [signatureHeaders.device]: privateKeyToAccount(generatePrivateKey()).address },
        request,
      }),
    ],
    [
      'signature',
      (headers: Record<string, string>) => ({
        headers: withSignature(headers, { r: BigInt(`0x${headers[signatureHeaders.signature]?.slice(2, 66)}`) ^ 1n }),
        request,
      }),
    ],
  ])('refuses a request whose %s changed after signing, as viem did', async (_what, tamper) => {
    const changed = tamper(await signRequest(device, request, server));
    const answer = await verdict('libsecp256k1', changed.headers, changed.request);
    expect(answer).toMatchObject({ code: 'signature_invalid' });
    expect(answer).toEqual(await verdict('viem', changed.headers, changed.request));
  });

  it('refuses a request signed for another chain, and one signed by another key, as viem did', async () => {
    const headers = await signRequest(device, request, server);
    const onAnotherChain = await verdict('libsecp256k1', headers, request, 1);
    expect(onAnotherChain).toMatchObject({ code: 'signature_invalid' });
    expect(onAnotherChain).toEqual(await verdict('viem', headers, request, 1));
    const forged = {
      ...(await signRequest(privateKeyToAccount(generatePrivateKey()), request, server)),
      [signatureHeaders.device]: device.address,
    };
    expect(await verdict('libsecp256k1', forged, request)).toEqual({
      code: 'signature_invalid',
      message: 'The signature does not match the device and request it claims.',
    });
    expect(await verdict('viem', forged, request)).toEqual(await verdict('libsecp256k1', forged, request));
  });

  it('refuses as unreadable what viem could not read: malformed v, r or s out of range, an r that is no x, a key at infinity', async () => {
    const headers = await signRequest(device, request, server);
    const cases: Record<string, string>[] = [
      ...[2, 3, 4, 26, 29, 35, 36, 127, 255].map((v) => withSignature(headers, { v })),
      withSignature(headers, { r: 0n }),
      withSignature(headers, { s: 0n }),
      withSignature(headers, { r: n }),
      withSignature(headers, { r: 2n ** 256n - 1n }),
      // x = 5 is not on secp256k1 (5³ + 7 = 132 is not a square mod p).
      withSignature(headers, { r: 5n }),
    ];
    // A signature whose recovered key is the point at infinity: R = kG, s = e / k, so sR - eG = 0.
    const claimed = readSignatureHeaders(headers);
    const digest = requestDigest(server, {
      method: 'POST',
      path: request.path,
      bodyHash: hashBody(request.body),
      timestamp: BigInt(claimed.timestamp),
      nonce: claimed.nonce,
    });
    const e = BigInt(bytesToHex(digest)) % n;
    for (let k = 2n; cases.length < 20; k += 1n) {
      const point = secp256k1.pointFromScalar(new Uint8Array(Buffer.from(hex64(k), 'hex')), false);
      if (!point) continue;
      const r = BigInt(bytesToHex(point.subarray(1, 33)));
      if (r >= n) continue;
      let parity = (point[64] ?? 0) & 1;
      // s = e / k mod n, by Fermat's little theorem.
      let s = (e * modPow(k, n - 2n, n)) % n;
      if (s > n / 2n) {
        s = n - s;
        parity ^= 1;
      }
      cases.push(withSignature(headers, { r, s, v: 27 + parity }));
    }
    for (const tampered of cases) {
      const answer = await verdict('libsecp256k1', tampered, request);
      expect(answer, tampered[signatureHeaders.signature]).toEqual({
        code: 'signature_invalid',
        message: 'The signature could not be read.',
      });
      expect(answer, tampered[signatureHeaders.signature]).toEqual(await verdict('viem', tampered, request));
    }
  });

  it('gives the same verdict as viem on random requests with random changes', async () => {
    const seed = Date.now();
    const random = seededRandom(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const keys = Array.from({ length: 4 }, () => privateKeyToAccount(generatePrivateKey()));
    const seen = new Map<string, number>();
    for (let i = 0; i < 300; i += 1) {
      const signer = pick(keys);
      const original: RequestToSign = {
        method: pick(['GET', 'POST', 'post']),
        path: pick(['/v1/devices/me', '/v1/jobs/lease?n=5', '/v1/résultats/🦊', '/\ud800?x=%00']),
        body: new TextEncoder().encode(pick(['', '{}', '{"a":"数据"}'])),
      };
      const headers = await signRequest(signer, original, pick([server, sibling]));
      const signature = headers[signatureHeaders.signature];
      const r = BigInt(`0x${signature.slice(2, 66)}`);
      const s = BigInt(`0x${signature.slice(66, 130)}`);
      const change = Math.floor(random() * 13);
      let sent: Record<string, string> = headers;
      let received = original;
      let chainId = defaultChainId;
      if (change === 1) received = { ...original, method: original.method === 'GET' ? 'POST' : 'GET' };
      if (change === 2) received = { ...original, path: `${original.path}x` };
      if (change === 3) received = { ...original, body: new Uint8Array([...original.body, 32]) };
      if (change === 4) chainId = pick([1, 10, 31338]);
      if (change === 5) sent = { ...headers, [signatureHeaders.device]: pick(keys).address };
      if (change === 6) sent = withSignature(headers, { r: r ^ (1n << BigInt(Math.floor(random() * 256))) });
      if (change === 12) sent = withSignature(headers, { s: s ^ (1n << BigInt(Math.floor(random() * 256))) });
      // The malleable twin of the signature: the same key, refused only for its high s.
      if (change === 7) sent = withSignature(headers, { s: n - s, v: 55 - Number.parseInt(signature.slice(130), 16) });
      if (change === 8) sent = withSignature(headers, { v: Math.floor(random() * 256) });
      if (change === 9) sent = withSignature(headers, { r: randomBytes32(random) });
      if (change === 10) sent = withSignature(headers, { v: pick([0, 1, 27, 28]) });
      if (change === 11) {
        sent = { ...headers, [signatureHeaders.nonce]: `0x${headers[signatureHeaders.nonce].slice(2).toUpperCase()}` };
      }
      const expected = await verdict('viem', sent, received, chainId);
      expect(await verdict('libsecp256k1', sent, received, chainId), `seed ${seed}, case ${i}`).toEqual(expected);
      const key = expected === 'accepted' ? expected : expected.message;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    // The random changes reach every verdict, not only the easy ones.
    expect([...seen.keys()].sort()).toEqual(
      [
        'accepted',
        'The signature could not be read.',
        'The signature does not match the device and request it claims.',
        'The signature is in its high-s form; only low-s signatures are accepted (EIP-2).',
      ].sort(),
    );
  });
});

function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let b = base % modulus;
  let e = exponent;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

describe('signing on libsecp256k1', () => {
  it('signs a digest with the same bytes as viem (RFC 6979, low s, v = 27 or 28)', async () => {
    for (let i = 0; i < 200; i += 1) {
      const privateKey = generatePrivateKey();
      const digest = crypto.getRandomValues(new Uint8Array(32));
      expect(libsecp256k1Signer(privateKey).signDigest(digest)).toBe(
        await sign({ hash: bytesToHex(digest), privateKey, to: 'hex' }),
      );
    }
  });

  it('signs a request with the same headers viem would, which the server accepts', async () => {
    for (let i = 0; i < 20; i += 1) {
      const privateKey = generatePrivateKey();
      const account = privateKeyToAccount(privateKey);
      const signer = libsecp256k1Signer(privateKey);
      expect(signer.address).toBe(account.address);
      const request: RequestToSign = { method: 'post', path: `/v1/results?i=${i}&é`, body: new Uint8Array([i]) };
      const headers = await signRequest(signer, request, server);
      const byViem = await account.signTypedData({
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
      expect(headers[signatureHeaders.signature]).toBe(byViem);
      expect(headers[signatureHeaders.device]).toBe(account.address);
      expect(await verdict('libsecp256k1', headers, request)).toBe('accepted');
    }
  });
});
