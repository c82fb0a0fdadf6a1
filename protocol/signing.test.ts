import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { AuthError } from './errors';
import { type RequestToSign, signatureHeaders, signRequest, verifyRequestSignature } from './signing';

const device = privateKeyToAccount(generatePrivateKey());
const other = privateKeyToAccount(generatePrivateKey());
const body = new TextEncoder().encode('{"extensionVersion":"0.1.0","browser":"chrome"}');
const request: RequestToSign = { method: 'POST', path: '/v1/devices', body };

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
    const headers = await signRequest(device, request);
    const verified = await verifyRequestSignature(headers, request);
    expect(verified.device).toBe(device.address);
    expect(verified.nonce).toBe(headers[signatureHeaders.nonce]);
  });

  it('uses a new nonce for every request', async () => {
    const first = await signRequest(device, request);
    const second = await signRequest(device, request);
    expect(first[signatureHeaders.nonce]).not.toBe(second[signatureHeaders.nonce]);
  });

  it.each([
    ['body', { ...request, body: new TextEncoder().encode('{"extensionVersion":"9.9.9","browser":"chrome"}') }],
    ['path', { ...request, path: '/v1/devices?x=1' }],
    ['method', { ...request, method: 'PUT' }],
  ])('rejects a request whose %s changed after signing', async (_what, changed) => {
    const headers = await signRequest(device, request);
    expect((await rejection(verifyRequestSignature(headers, changed))).code).toBe('signature_invalid');
  });

  it('rejects a signature made by a different key than the device named', async () => {
    const headers = { ...(await signRequest(other, request)), [signatureHeaders.device]: device.address };
    expect((await rejection(verifyRequestSignature(headers, request))).code).toBe('signature_invalid');
  });

  it.each([
    ['six minutes old', -6 * 60_000],
    ['six minutes ahead', 6 * 60_000],
  ])('rejects a timestamp %s as stale', async (_what, offset) => {
    const headers = await signRequest(device, request, new Date(Date.now() + offset));
    const error = await rejection(verifyRequestSignature(headers, request));
    expect(error.code).toBe('timestamp_stale');
    expect(error.message).toMatch(/clock/);
  });

  it('accepts a timestamp four minutes off', async () => {
    const headers = await signRequest(device, request, new Date(Date.now() - 4 * 60_000));
    await expect(verifyRequestSignature(headers, request)).resolves.toMatchObject({ device: device.address });
  });

  it.each(Object.values(signatureHeaders))('names a missing %s header', async (name) => {
    const headers: Record<string, string> = { ...(await signRequest(device, request)) };
    delete headers[name];
    const error = await rejection(verifyRequestSignature(headers, request));
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
    const headers = { ...(await signRequest(device, request)), [name]: value };
    expect((await rejection(verifyRequestSignature(headers, request))).code).toBe('signature_invalid');
  });
});
