import { type WalletLinkAction, walletLinkMessageFields } from '@protocol/wallets';
import type { FastifyInstance } from 'fastify';
import { generatePrivateKey, type LocalAccount, privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, signedInject, testSigningServer } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { registerDevice } from '../test/scrape-fixtures';

const minute = 60_000;

describeEachDatabase('wallet linking', (database) => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp(database());
  });
  afterAll(async () => {
    await app.close();
  });

  async function linkCode(device: LocalAccount): Promise<string> {
    const response = await signedInject(app, device, { method: 'POST', url: '/v1/devices/me/link-code' });
    expect(response.statusCode, response.body).toBe(201);
    return response.json().code;
  }

  async function nonce(): Promise<string> {
    const response = await app.inject({ method: 'GET', url: '/v1/wallets/nonce' });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().nonce;
  }

  interface MessageOptions {
    action?: WalletLinkAction;
    device: LocalAccount;
    code?: string;
    nonce?: string;
    domain?: string;
    uri?: string;
    chainId?: number;
    expirationTime?: Date;
    issuedAt?: Date;
  }

  /** A message as the console will build it, with any one field changed by the test. */
  async function message(wallet: LocalAccount, options: MessageOptions): Promise<string> {
    const now = Date.now();
    return createSiweMessage({
      address: wallet.address,
      chainId: options.chainId ?? testSigningServer.chainId,
      domain: options.domain ?? new URL(testSigningServer.origin).host,
      uri: options.uri ?? testSigningServer.origin,
      version: '1',
      nonce: options.nonce ?? (await nonce()),
      issuedAt: options.issuedAt ?? new Date(now),
      expirationTime: options.expirationTime ?? new Date(now + 5 * minute),
      ...walletLinkMessageFields(options.action ?? 'link', options.device.address, options.code),
    });
  }

  async function send(action: WalletLinkAction, text: string, signer: LocalAccount) {
    const signature = await signer.signMessage({ message: text });
    return app.inject({ method: 'POST', url: `/v1/wallets/${action}`, payload: { message: text, signature } });
  }

  async function link(wallet: LocalAccount, options: MessageOptions, signer = wallet) {
    return send(options.action ?? 'link', await message(wallet, options), signer);
  }

  async function currentWallet(device: LocalAccount) {
    const response = await signedInject(app, device, { method: 'GET', url: '/v1/devices/me/wallet' });
    expect(response.statusCode, response.body).toBe(200);
    return response.json().link;
  }

  const newWallet = () => privateKeyToAccount(generatePrivateKey());

  it('links a device to the wallet that signs a message naming the device and its code', async () => {
    const device = await registerDevice(app);
    const wallet = newWallet();
    expect(await currentWallet(device)).toBeNull();
    const response = await link(wallet, { device, code: await linkCode(device) });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toMatchObject({ device: device.address, wallet: wallet.address, unlinkedAt: null });
    expect(await currentWallet(device)).toMatchObject({ wallet: wallet.address });
  });

  describe('refuses each broken check with its code', () => {
    const cases: [string, (d: LocalAccount, w: LocalAccount) => Promise<MessageOptions>, number, string][] = [
      ['a wrong domain', async (device) => ({ device, domain: 'evil.example' }), 401, 'siwe_domain_mismatch'],
      [
        "a URI of another site (the domain alone is this server's)",
        async (device) => ({ device, uri: 'https://evil.example/login' }),
        401,
        'siwe_domain_mismatch',
      ],
      ['a wrong chain', async (device) => ({ device, chainId: 1 }), 401, 'siwe_chain_mismatch'],
      [
        'an expired message',
        async (device) => ({ device, expirationTime: new Date(Date.now() - minute) }),
        401,
        'siwe_expired',
      ],
      [
        'a message issued in the future',
        async (device) => ({ device, issuedAt: new Date(Date.now() + 60 * minute) }),
        401,
        'siwe_not_yet_valid',
      ],
      [
        'a nonce never issued here',
        async (device) => ({ device, nonce: 'abcdefgh12345678' }),
        401,
        'siwe_nonce_unknown',
      ],
      ['a mistyped code', async (device) => ({ device, code: 'ABCDEFGH' }), 401, 'link_code_invalid'],
      [
        "another device's code",
        async (device) => ({ device, code: await linkCode(await registerDevice(app)) }),
        401,
        'link_code_invalid',
      ],
      ['no code at all', async (device) => ({ device }), 400, 'siwe_message_invalid'],
    ];
    for (const [name, build, status, code] of cases) {
      it(`refuses ${name}`, async () => {
        const device = await registerDevice(app);
        const wallet = newWallet();
        const fallbackCode = await linkCode(device);
        const options = await build(device, wallet);
        const given = name === 'no code at all' ? options : { code: fallbackCode, ...options };
        const response = await link(wallet, given);
        expect(response.statusCode, response.body).toBe(status);
        expect(response.json().code).toBe(code);
        expect(await currentWallet(device)).toBeNull();
      });
    }
  });

  it('refuses a signature by another address than the message names', async () => {
    const device = await registerDevice(app);
    const wallet = newWallet();
    const response = await link(wallet, { device, code: await linkCode(device) }, newWallet());
    expect(response.statusCode, response.body).toBe(401);
    expect(response.json().code).toBe('siwe_signature_invalid');
    expect(await currentWallet(device)).toBeNull();
  });

  it('refuses a reused nonce and a used code', async () => {
    const device = await registerDevice(app);
    const wallet = newWallet();
    const code = await linkCode(device);
    const text = await message(wallet, { device, code });
    expect((await send('link', text, wallet)).statusCode).toBe(200);
    const replay = await send('link', text, wallet);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('siwe_nonce_used');
    const usedCode = await link(newWallet(), { device, code });
    expect(usedCode.statusCode).toBe(401);
    expect(usedCode.json().code).toBe('link_code_used');
    expect(await currentWallet(device)).toMatchObject({ wallet: wallet.address });
  });

  it('refuses an expired nonce and an expired code', async () => {
    const device = await registerDevice(app);
    const wallet = newWallet();
    const code = await linkCode(device);
    const staleNonce = await nonce();
    await database().query(`update siwe_nonces set expires_at = now() - interval '1 second' where nonce = $1`, [
      staleNonce,
    ]);
    const expiredNonce = await link(wallet, { device, code, nonce: staleNonce });
    expect(expiredNonce.json().code).toBe('siwe_nonce_expired');
    await database().query(`update device_link_codes set expires_at = now() - interval '1 second' where code = $1`, [
      code,
    ]);
    const expiredCode = await link(wallet, { device, code });
    expect(expiredCode.statusCode).toBe(401);
    expect(expiredCode.json().code).toBe('link_code_expired');
  });

  it('refuses a message signed to unlink when sent to link, and one not in standard form', async () => {
    const device = await registerDevice(app);
    const wallet = newWallet();
    const code = await linkCode(device);
    const unlinkText = await message(wallet, { action: 'unlink', device });
    const crossed = await send('link', unlinkText, wallet);
    expect(crossed.statusCode).toBe(400);
    expect(crossed.json().code).toBe('siwe_message_invalid');
    const padded = `${await message(wallet, { device, code })}\nSomething the wallet showed: pay me`;
    const odd = await send('link', padded, wallet);
    expect(odd.statusCode).toBe(400);
    expect(odd.json().code).toBe('siwe_message_invalid');
  });

  it('relinking to another wallet closes the first link, and history keeps both', async () => {
    const device = await registerDevice(app);
    const first = newWallet();
    const second = newWallet();
    expect((await link(first, { device, code: await linkCode(device) })).statusCode).toBe(200);
    expect((await link(second, { device, code: await linkCode(device) })).statusCode).toBe(200);
    expect(await currentWallet(device)).toMatchObject({ wallet: second.address });
    const history = await database().query<{ wallet: string; open: boolean }>(
      'select wallet, unlinked_at is null as open from wallet_links where device = $1 order by id',
      [device.address],
    );
    expect(history).toEqual([
      { wallet: first.address, open: false },
      { wallet: second.address, open: true },
    ]);
  });

  it('only the linked wallet unlinks; unlink and relink keep history', async () => {
    const device = await registerDevice(app);
    const wallet = newWallet();
    expect((await link(wallet, { device, code: await linkCode(device) })).statusCode).toBe(200);
    const stranger = await link(newWallet(), { action: 'unlink', device });
    expect(stranger.statusCode).toBe(409);
    expect(stranger.json().code).toBe('wallet_not_linked');
    const unlinked = await link(wallet, { action: 'unlink', device });
    expect(unlinked.statusCode, unlinked.body).toBe(200);
    expect(unlinked.json().unlinkedAt).not.toBeNull();
    expect(await currentWallet(device)).toBeNull();
    expect((await link(wallet, { device, code: await linkCode(device) })).statusCode).toBe(200);
    const rows = await database().query('select 1 from wallet_links where device = $1', [device.address]);
    expect(rows).toHaveLength(2);
  });

  it('the database holds at most one open link per device', async () => {
    const device = await registerDevice(app);
    const wallet = newWallet();
    expect((await link(wallet, { device, code: await linkCode(device) })).statusCode).toBe(200);
    await expect(
      database().query('insert into wallet_links (device, wallet) values ($1, $2)', [
        device.address,
        newWallet().address,
      ]),
    ).rejects.toThrow();
  });

  it('two wallets racing to link one device leave exactly one open link', async () => {
    const device = await registerDevice(app);
    const [a, b] = [newWallet(), newWallet()];
    const responses = await Promise.all([
      link(a, { device, code: await linkCode(device) }),
      link(b, { device, code: await linkCode(device) }),
    ]);
    expect(responses.map((r) => r.statusCode)).toEqual([200, 200]);
    const open = await database().query('select wallet from wallet_links where device = $1 and unlinked_at is null', [
      device.address,
    ]);
    expect(open).toHaveLength(1);
  });
});
