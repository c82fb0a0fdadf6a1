import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { AuthError } from './errors';
import {
  defaultChainId,
  type RequestToSign,
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
    const { recoverTypedDataAddress } = await import('viem');
    const { requestDomain, requestTypes, hashBody } = await import('./signing');
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
