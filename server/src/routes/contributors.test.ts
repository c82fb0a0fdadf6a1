import { randomUUID } from 'node:crypto';
import { type LedgerEntry, walletSignInStatement } from '@protocol/contributors';
import { walletLinkMessageFields } from '@protocol/wallets';
import type { FastifyInstance } from 'fastify';
import { generatePrivateKey, type LocalAccount, privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TemporaryDatasetSettings, temporaryDatasetSettings } from '../datasets/temporary-dataset-settings';
import { closeEpoch } from '../rewards/epoch-service';
import { reverseCredits } from '../rewards/reversals';
import { defaultRewardSettings } from '../rewards/reward-settings';
import { buildTestApp, signedInject, testSigningServer } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { registerDevice } from '../test/scrape-fixtures';

const minute = 60_000;
const day = 86_400_000;

async function fetchNonce(app: FastifyInstance): Promise<string> {
  const response = await app.inject({ method: 'GET', url: '/v1/wallets/nonce' });
  expect(response.statusCode, response.body).toBe(200);
  return response.json().nonce;
}

/** A SIWE message to this test server as the console builds it, valid for 5 minutes; `fields` change any field. */
async function siweMessage(
  app: FastifyInstance,
  wallet: LocalAccount,
  fields: Partial<Parameters<typeof createSiweMessage>[0]> = {},
): Promise<string> {
  const now = Date.now();
  return createSiweMessage({
    address: wallet.address,
    chainId: testSigningServer.chainId,
    domain: new URL(testSigningServer.origin).host,
    uri: testSigningServer.origin,
    version: '1',
    issuedAt: new Date(now),
    expirationTime: new Date(now + 5 * minute),
    ...fields,
    nonce: fields.nonce ?? (await fetchNonce(app)),
  });
}

describeEachDatabase('contributor sign-in and dashboard', (database) => {
  let app: FastifyInstance;
  let datasets: TemporaryDatasetSettings;
  beforeAll(async () => {
    datasets = await temporaryDatasetSettings();
    app = await buildTestApp(database(), {}, { datasets });
  });
  afterAll(async () => {
    await app.close();
    await datasets.storage.close();
  });

  const newWallet = () => privateKeyToAccount(generatePrivateKey());

  interface SignInOptions {
    domain?: string;
    nonce?: string;
    expirationTime?: Date;
    statement?: string;
    resources?: string[];
  }

  /** A sign-in message as the console builds it, with any one field changed by the test. */
  function signInMessage(wallet: LocalAccount, options: SignInOptions = {}): Promise<string> {
    return siweMessage(app, wallet, { statement: walletSignInStatement, ...options });
  }

  async function sendSignIn(text: string, signer: LocalAccount) {
    const signature = await signer.signMessage({ message: text });
    return app.inject({ method: 'POST', url: '/v1/wallets/session', payload: { message: text, signature } });
  }

  async function signIn(wallet: LocalAccount): Promise<string> {
    const response = await sendSignIn(await signInMessage(wallet), wallet);
    expect(response.statusCode, response.body).toBe(201);
    return response.json().token;
  }

  async function link(wallet: LocalAccount, device: LocalAccount): Promise<void> {
    const code = await signedInject(app, device, { method: 'POST', url: '/v1/devices/me/link-code' });
    expect(code.statusCode, code.body).toBe(201);
    const text = await siweMessage(app, wallet, walletLinkMessageFields('link', device.address, code.json().code));
    const signature = await wallet.signMessage({ message: text });
    const response = await app.inject({
      method: 'POST',
      url: '/v1/wallets/link',
      payload: { message: text, signature },
    });
    expect(response.statusCode, response.body).toBe(200);
  }

  const get = (token: string, url: string) =>
    app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

  async function getOk(token: string, url: string) {
    const response = await get(token, url);
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  }

  interface Earning {
    state?: 'pending' | 'verified' | 'rejected';
    reason?: 'scrape' | 'audit' | 'canary' | 'label';
    points?: number;
    daysAgo?: number;
  }

  /** A ledger row as ingest and verification write them; `daysAgo` back-dates it for the per-day chart. */
  async function earn(device: LocalAccount, earning: Earning = {}): Promise<{ id: string; reference: string }> {
    const reference = `test:${randomUUID()}`;
    const state = earning.state ?? 'verified';
    const rows = await database().query<{ id: string | number }>(
      `insert into points_ledger (device, reference, reason, points, state, rejection_reason, url, created_at, settled_at)
       values ($1, $2, $3, $4, $5, $6, $7, now() - make_interval(days => $8),
               case when $5 = 'pending' then null else now() end)
       returning id`,
      [
        device.address,
        reference,
        earning.reason ?? 'scrape',
        earning.points ?? 10,
        state,
        state === 'rejected' ? 'audit failed: the page differed' : null,
        'https://example.test/page',
        earning.daysAgo ?? 0,
      ],
    );
    return { id: String(rows[0]?.id), reference };
  }

  /** Every ledger entry of the signed-in wallet, page by page. */
  async function allEntries(token: string, query = '', limit = 7): Promise<LedgerEntry[]> {
    const entries: LedgerEntry[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const url: string = `/v1/wallet/ledger?limit=${limit}${query}${cursor ? `&cursor=${cursor}` : ''}`;
      const body: { entries: LedgerEntry[]; nextCursor: string | null } = await getOk(token, url);
      expect(body.entries.length).toBeLessThanOrEqual(limit);
      entries.push(...body.entries);
      cursor = body.nextCursor;
      if (!cursor) return entries;
    }
    throw new Error('the ledger never ended');
  }

  describe('sign-in refuses each broken check with its code', () => {
    const cases: [string, () => Promise<SignInOptions>, number, string][] = [
      ['a wrong domain', async () => ({ domain: 'evil.example' }), 401, 'siwe_domain_mismatch'],
      ['an expired message', async () => ({ expirationTime: new Date(Date.now() - minute) }), 401, 'siwe_expired'],
      ['a nonce never issued here', async () => ({ nonce: 'abcdefgh12345678' }), 401, 'siwe_nonce_unknown'],
      ['another statement', async () => ({ statement: 'Sign in to something else.' }), 400, 'siwe_message_invalid'],
      [
        'a sign-in that names resources',
        async () => ({ resources: ['urn:gleaner:device:0x0000000000000000000000000000000000000001'] }),
        400,
        'siwe_message_invalid',
      ],
    ];
    for (const [name, build, status, code] of cases) {
      it(`refuses ${name}`, async () => {
        const wallet = newWallet();
        const response = await sendSignIn(await signInMessage(wallet, await build()), wallet);
        expect(response.statusCode, response.body).toBe(status);
        expect(response.json().code).toBe(code);
      });
    }

    it('refuses a signature by another address than the message names', async () => {
      const response = await sendSignIn(await signInMessage(newWallet()), newWallet());
      expect(response.statusCode, response.body).toBe(401);
      expect(response.json().code).toBe('siwe_signature_invalid');
    });

    it('refuses a reused nonce', async () => {
      const wallet = newWallet();
      const text = await signInMessage(wallet);
      expect((await sendSignIn(text, wallet)).statusCode).toBe(201);
      const replay = await sendSignIn(text, wallet);
      expect(replay.statusCode, replay.body).toBe(401);
      expect(replay.json().code).toBe('siwe_nonce_used');
    });

    it('refuses a message signed to link a device', async () => {
      const wallet = newWallet();
      const device = await registerDevice(app);
      const text = await siweMessage(app, wallet, walletLinkMessageFields('link', device.address, 'ABCDEFGH'));
      const response = await sendSignIn(text, wallet);
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('siwe_message_invalid');
    });
  });

  describe('sessions', () => {
    it('gives a token that opens the dashboard, stored only as its hash, ending no later than the message', async () => {
      const wallet = newWallet();
      const expirationTime = new Date(Date.now() + 30 * minute);
      const response = await sendSignIn(await signInMessage(wallet, { expirationTime }), wallet);
      expect(response.statusCode, response.body).toBe(201);
      const session = response.json();
      expect(session.token).toMatch(/^gls_[A-Za-z0-9_-]{43}$/);
      expect(session.wallet).toBe(wallet.address);
      expect(new Date(session.expiresAt).getTime()).toBeLessThanOrEqual(expirationTime.getTime());
      const stored = await database().query<{ token_sha256: string }>(
        'select token_sha256 from wallet_sessions where wallet = $1',
        [wallet.address],
      );
      expect(stored).toHaveLength(1);
      expect(stored[0]?.token_sha256).not.toContain(session.token.slice(4));
      expect((await getOk(session.token, '/v1/wallet')).wallet).toBe(wallet.address);
    });

    it('a session lasts at most a day', async () => {
      const wallet = newWallet();
      const response = await sendSignIn(
        await signInMessage(wallet, { expirationTime: new Date(Date.now() + 7 * day) }),
        wallet,
      );
      expect(new Date(response.json().expiresAt).getTime()).toBeLessThanOrEqual(Date.now() + day);
    });

    it('refuses no token, a made-up token, a signed-out token and an expired one, each with its code', async () => {
      const missing = await app.inject({ method: 'GET', url: '/v1/wallet' });
      expect(missing.statusCode).toBe(401);
      expect(missing.json().code).toBe('wallet_session_missing');
      const madeUp = await get(`gls_${'A'.repeat(43)}`, '/v1/wallet');
      expect(madeUp.statusCode).toBe(401);
      expect(madeUp.json().code).toBe('wallet_session_invalid');

      const wallet = newWallet();
      const token = await signIn(wallet);
      const other = await signIn(wallet);
      const signOut = await app.inject({
        method: 'DELETE',
        url: '/v1/wallets/session',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(signOut.statusCode, signOut.body).toBe(204);
      const revoked = await get(token, '/v1/wallet/ledger');
      expect(revoked.statusCode).toBe(401);
      expect(revoked.json().code).toBe('wallet_session_invalid');
      // Signing out one session leaves the wallet's other sessions (another browser) open.
      expect((await get(other, '/v1/wallet')).statusCode).toBe(200);

      await database().query(
        `update wallet_sessions set expires_at = now() - interval '1 second' where wallet = $1 and revoked_at is null`,
        [wallet.address],
      );
      const expired = await get(other, '/v1/wallet/points-by-day');
      expect(expired.statusCode).toBe(401);
      expect(expired.json().code).toBe('wallet_session_expired');
    });
  });

  it("never shows another wallet's devices or rows", async () => {
    const [alice, bob] = [newWallet(), newWallet()];
    const [aliceDevice, bobDevice] = [await registerDevice(app), await registerDevice(app)];
    await link(alice, aliceDevice);
    await link(bob, bobDevice);
    const aliceRow = await earn(aliceDevice, { points: 7 });
    const bobRow = await earn(bobDevice, { points: 5 });
    const bobToken = await signIn(bob);

    const overview = await getOk(bobToken, '/v1/wallet');
    expect(overview.devices.map((d: { address: string }) => d.address)).toEqual([bobDevice.address]);
    expect(overview.points.verifiedUnpaid).toBe(5);
    const ids = (await allEntries(bobToken)).map((entry) => entry.id);
    expect(ids).toEqual([bobRow.id]);
    expect(ids).not.toContain(aliceRow.id);
    const filtered = await getOk(bobToken, `/v1/wallet/ledger?device=${aliceDevice.address}`);
    expect(filtered.entries).toEqual([]);
    const days = await getOk(bobToken, '/v1/wallet/points-by-day?days=1');
    expect(days.days).toEqual([expect.objectContaining({ verified: 5, pending: 0, rejected: 0 })]);
  });

  it('points earned before linking move to the wallet; rows paid to it stay after the device moves on', async () => {
    const [first, second] = [newWallet(), newWallet()];
    const device = await registerDevice(app);
    const before = await earn(device, { points: 30 });
    const beforePending = await earn(device, { state: 'pending', points: 4 });
    const firstToken = await signIn(first);
    expect((await allEntries(firstToken)).map((entry) => entry.id)).toEqual([]);

    await link(first, device);
    const linked = await getOk(firstToken, '/v1/wallet');
    expect(linked.devices).toEqual([
      expect.objectContaining({
        address: device.address,
        browser: 'chrome',
        extensionVersion: '0.1.0',
        points: { pending: 4, verified: 30, rejected: 0 },
      }),
    ]);
    expect(linked.points).toMatchObject({ pending: 4, verifiedUnpaid: 30, paid: 0 });
    expect(new Set((await allEntries(firstToken)).map((entry) => entry.id))).toEqual(
      new Set([before.id, beforePending.id]),
    );

    // Every other suite's verified rows of linked devices are paid by this close too: the estimate says so first.
    expect(linked.nextEpoch.points).toBe(30);
    const closed = await closeEpoch(database(), datasets.storage, defaultRewardSettings);
    expect(closed.closed).toBe(true);
    const epoch = closed.epoch?.epoch;

    const after = await earn(device, { points: 8 });
    const second_ = await signIn(second);
    await link(second, device);

    const firstView = await getOk(firstToken, '/v1/wallet');
    expect(firstView.devices).toEqual([]);
    expect(firstView.formerDevices).toEqual([expect.objectContaining({ address: device.address })]);
    // The pending row was not paid: it moved on with the device.
    expect(firstView.points).toMatchObject({ pending: 0, verifiedUnpaid: 0, paid: 30 });
    expect(firstView.rewards.latestEpoch).toBe(epoch);
    expect(firstView.rewards.epochs).toEqual([expect.objectContaining({ epoch, points: 30, published: false })]);
    expect(BigInt(firstView.rewards.cumulative)).toBeGreaterThan(0n);
    const firstEntries = await allEntries(firstToken);
    expect(firstEntries.map((entry) => [entry.id, entry.epoch])).toEqual([[before.id, epoch]]);

    const secondView = await getOk(second_, '/v1/wallet');
    expect(secondView.devices.map((d: { address: string }) => d.address)).toEqual([device.address]);
    expect(secondView.points).toMatchObject({ pending: 4, verifiedUnpaid: 8, paid: 0 });
    expect(secondView.rewards).toEqual({ latestEpoch: null, cumulative: '0', epochs: [] });
    expect(new Set((await allEntries(second_)).map((entry) => entry.id))).toEqual(
      new Set([after.id, beforePending.id]),
    );
  });

  it('shows paid work rejected later as reversed, its reversal row, and the debt it leaves', async () => {
    const wallet = newWallet();
    const device = await registerDevice(app);
    await link(wallet, device);
    const paid = await earn(device, { points: 20 });
    expect((await closeEpoch(database(), datasets.storage, defaultRewardSettings)).closed).toBe(true);
    const result = await reverseCredits(database(), [paid.reference], 'a late audit failed');
    expect(result.skipped).toEqual([]);
    const token = await signIn(wallet);

    const entries = await allEntries(token);
    const original = entries.find((entry) => entry.id === paid.id);
    expect(original).toMatchObject({ state: 'reversed', points: 20 });
    expect(original?.epoch).not.toBeNull();
    const reversal = entries.find((entry) => entry.reason === 'reversal');
    expect(reversal).toMatchObject({
      state: 'verified',
      points: -20,
      rejectionReason: 'a late audit failed',
      epoch: null,
    });
    const onlyReversed = await getOk(token, '/v1/wallet/ledger?state=reversed');
    expect(onlyReversed.entries.map((entry: LedgerEntry) => entry.id)).toEqual([paid.id]);
    const onlyVerified = await getOk(token, '/v1/wallet/ledger?state=verified');
    expect(onlyVerified.entries.map((entry: LedgerEntry) => entry.id)).toEqual([reversal?.id]);

    const overview = await getOk(token, '/v1/wallet');
    expect(overview.points).toMatchObject({ paid: 20, reversed: 20, debt: 0 });
    expect(overview.devices[0].points).toEqual({ pending: 0, verified: 0, rejected: 20 });
    const chart = await getOk(token, '/v1/wallet/points-by-day?days=1');
    expect(chart.days).toEqual([expect.objectContaining({ verified: 0, rejected: 20 })]);

    // The next epoch charges the reversal; with nothing earned since, it stays owed as debt.
    const other = await registerDevice(app);
    await link(newWallet(), other);
    await earn(other, { points: 1 });
    expect((await closeEpoch(database(), datasets.storage, defaultRewardSettings)).closed).toBe(true);
    const charged = await getOk(token, '/v1/wallet');
    expect(charged.points).toMatchObject({ reversed: 20, debt: 20 });
    expect(charged.rewards.epochs[0]).toMatchObject({ points: 0, reversed: 20, amount: '0' });
  });

  it('filters and pages return every row once, newest first', async () => {
    const wallet = newWallet();
    const [one, two] = [await registerDevice(app), await registerDevice(app)];
    await link(wallet, one);
    await link(wallet, two);
    const made: { id: string; device: string; state: string; reason: string }[] = [];
    const states = ['verified', 'pending', 'rejected'] as const;
    const reasons = ['scrape', 'audit', 'canary', 'label'] as const;
    for (let i = 0; i < 23; i++) {
      const device = i % 2 === 0 ? one : two;
      const state = states[i % 3] ?? 'verified';
      const reason = reasons[i % 4] ?? 'scrape';
      const row = await earn(device, { state, reason, points: i + 1 });
      made.push({ id: row.id, device: device.address, state, reason });
    }
    const token = await signIn(wallet);

    const all = await allEntries(token, '', 5);
    expect(all.map((entry) => entry.id)).toEqual(made.map((row) => row.id).reverse());
    for (const [query, keep] of [
      ['&state=pending', (row: (typeof made)[number]) => row.state === 'pending'],
      ['&reason=audit', (row: (typeof made)[number]) => row.reason === 'audit'],
      [`&device=${two.address.toLowerCase()}`, (row: (typeof made)[number]) => row.device === two.address],
      [
        '&state=verified&reason=scrape',
        (row: (typeof made)[number]) => row.state === 'verified' && row.reason === 'scrape',
      ],
    ] as const) {
      const found = await allEntries(token, query, 2);
      expect(
        found.map((entry) => entry.id),
        query,
      ).toEqual(
        made
          .filter(keep)
          .map((row) => row.id)
          .reverse(),
      );
    }

    const bad = await get(token, '/v1/wallet/ledger?cursor=not-a-cursor');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('bad_request');
    const tooMany = await get(token, '/v1/wallet/ledger?limit=1000');
    expect(tooMany.statusCode).toBe(400);
  });

  it('charts every UTC day, oldest first, by the day the work was done', async () => {
    const wallet = newWallet();
    const device = await registerDevice(app);
    await link(wallet, device);
    await earn(device, { points: 3, daysAgo: 0 });
    await earn(device, { state: 'pending', points: 2, daysAgo: 0 });
    await earn(device, { points: 5, daysAgo: 2 });
    await earn(device, { state: 'rejected', points: 7, daysAgo: 2 });
    await earn(device, { points: 100, daysAgo: 10 });
    const token = await signIn(wallet);

    const dayOf = (daysAgo: number) => new Date(Date.now() - daysAgo * day).toISOString().slice(0, 10);
    const chart = await getOk(token, '/v1/wallet/points-by-day?days=4');
    expect(chart.days).toEqual([
      { day: dayOf(3), verified: 0, pending: 0, rejected: 0 },
      { day: dayOf(2), verified: 5, pending: 0, rejected: 7 },
      { day: dayOf(1), verified: 0, pending: 0, rejected: 0 },
      { day: dayOf(0), verified: 3, pending: 2, rejected: 0 },
    ]);
    expect((await getOk(token, '/v1/wallet/points-by-day')).days).toHaveLength(30);
    for (const days of [0, 91, 'x']) {
      const response = await get(token, `/v1/wallet/points-by-day?days=${days}`);
      expect(response.statusCode, String(days)).toBe(400);
    }
  });

  it('lists every contributor route in the OpenAPI document', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(spec.paths['/v1/wallets/session'].post.tags).toEqual(['contributors']);
    expect(spec.paths['/v1/wallets/session'].delete.tags).toEqual(['contributors']);
    for (const path of ['/v1/wallet', '/v1/wallet/points-by-day', '/v1/wallet/ledger']) {
      expect(spec.paths[path].get.tags, path).toEqual(['contributors']);
    }
    const ledgerParameters = spec.paths['/v1/wallet/ledger'].get.parameters.map((p: { name: string }) => p.name);
    expect(ledgerParameters).toEqual(expect.arrayContaining(['state', 'reason', 'device', 'cursor', 'limit']));
  });
});

describeEachDatabase('contributor dashboard with a close schedule', (database) => {
  it('says when the schedule closes the next epoch: none before the first close, then the last close plus the interval', async () => {
    const datasets = await temporaryDatasetSettings();
    const rewards = { ...defaultRewardSettings, closeEveryMs: 6 * 3_600_000 };
    const app = await buildTestApp(database(), {}, { datasets, rewards });
    try {
      const wallet = privateKeyToAccount(generatePrivateKey());
      const text = await siweMessage(app, wallet, { statement: walletSignInStatement });
      const signature = await wallet.signMessage({ message: text });
      const token = (
        await app.inject({ method: 'POST', url: '/v1/wallets/session', payload: { message: text, signature } })
      ).json().token;
      const overview = async () =>
        (await app.inject({ method: 'GET', url: '/v1/wallet', headers: { authorization: `Bearer ${token}` } })).json();
      expect((await overview()).nextEpoch).toMatchObject({ epoch: 1, closesAt: null });

      const device = await registerDevice(app);
      await database().query(`insert into wallet_links (device, wallet) values ($1, $2)`, [
        device.address,
        wallet.address,
      ]);
      await database().query(
        `insert into points_ledger (device, reference, reason, points, state, settled_at) values ($1, $2, 'scrape', 5, 'verified', now())`,
        [device.address, `test:${randomUUID()}`],
      );
      const closed = await closeEpoch(database(), datasets.storage, rewards);
      const closedAt = closed.epoch?.closedAt ?? '';
      expect((await overview()).nextEpoch).toMatchObject({
        epoch: 2,
        closesAt: new Date(new Date(closedAt).getTime() + 6 * 3_600_000).toISOString(),
      });
    } finally {
      await app.close();
      await datasets.storage.close();
    }
  });
});
