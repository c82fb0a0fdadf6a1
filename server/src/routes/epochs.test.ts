import { createHash } from 'node:crypto';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { epochFileSchema, epochProofSchema } from '@protocol/epochs';
import type { FastifyInstance } from 'fastify';
import { CID } from 'multiformats/cid';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../db/database';
import { addDevice, creditPoints, newAddress } from '../rewards/test-ledger';
import { buildTestApp, testOperatorToken } from '../test/app';
import { describeEachDatabase } from '../test/databases';

const operator = { authorization: `Bearer ${testOperatorToken}` };

describeEachDatabase('epoch routes', (database) => {
  let app: FastifyInstance;
  let db: Database;
  const wallets = [newAddress(), newAddress(), newAddress(), newAddress(), newAddress()];
  const references: string[] = [];

  beforeAll(async () => {
    db = database();
    app = await buildTestApp(db, {}, { rewards: { poolPerEpoch: 10n ** 21n, tokenDecimals: 18, closeEveryMs: null } });
    for (const [index, wallet] of wallets.entries()) {
      references.push(await creditPoints(db, await addDevice(db, wallet), 10 * (index + 1)));
    }
  });
  afterAll(async () => {
    await app.close();
  });

  const close = (body: object = {}) =>
    app.inject({ method: 'POST', url: '/v1/admin/epochs/close', headers: operator, payload: body });

  it('refuses the operator routes without the operator token', async () => {
    for (const url of ['/v1/admin/epochs/close', '/v1/admin/epochs/1/published', '/v1/admin/ledger/reverse']) {
      const response = await app.inject({ method: 'POST', url, payload: {} });
      expect(response.statusCode, url).toBe(401);
      expect(response.json().code).toBe('operator_token_invalid');
    }
  });

  it('answers 404 in words before any epoch is closed', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/epochs/latest' });
    expect(response.statusCode).toBe(404);
    expect(response.json().message).toBe('No epoch has been closed yet.');
  });

  it('closes an epoch once and lists it', async () => {
    const first = await close();
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ closed: true, epoch: { epoch: 1, wallets: 5, pointsTotal: 150 } });
    const again = await close({ epoch: 1 });
    expect(again.json()).toMatchObject({ closed: false, epoch: { epoch: 1, root: first.json().epoch.root } });
    const list = await app.inject({ method: 'GET', url: '/v1/epochs' });
    expect(list.json().epochs.map((epoch: { epoch: number }) => epoch.epoch)).toEqual([1]);
    const latest = await app.inject({ method: 'GET', url: '/v1/epochs/latest' });
    expect(latest.json()).toEqual(first.json().epoch);
  });

  it('serves the exact stored bytes under their content id, and proofs that verify against its root', async () => {
    const summary = (await app.inject({ method: 'GET', url: '/v1/epochs/1' })).json();
    const response = await app.inject({ method: 'GET', url: summary.fileUrl });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.headers['x-content-id']).toBe(summary.contentId);
    expect(response.headers.etag).toBe(`"${summary.contentId}"`);
    expect(response.headers['cache-control']).toContain('immutable');
    const cached = await app.inject({
      method: 'GET',
      url: summary.fileUrl,
      headers: { 'if-none-match': response.headers.etag },
    });
    expect(cached.statusCode).toBe(304);
    expect(cached.body).toBe('');
    const bytes = response.rawPayload;
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(summary.fileSha256);
    expect(CID.parse(summary.contentId).multihash.digest).toEqual(
      new Uint8Array(createHash('sha256').update(bytes).digest()),
    );
    const file = epochFileSchema.parse(JSON.parse(bytes.toString()));
    const values = file.wallets.map((line) => [line.address, line.cumulative]);
    for (const wallet of wallets) {
      const proof = await app.inject({ method: 'GET', url: `/v1/epochs/1/proofs/${wallet.toLowerCase()}` });
      expect(proof.statusCode, proof.body).toBe(200);
      const claim = epochProofSchema.parse(proof.json());
      expect(claim.account).toBe(wallet);
      expect(
        StandardMerkleTree.verify(file.root, ['address', 'uint256'], [wallet, claim.cumulativeAmount], claim.proof),
      ).toBe(true);
      const library = StandardMerkleTree.of(values, ['address', 'uint256']);
      const index = values.findIndex(([address]) => address === wallet);
      expect(claim.proof).toEqual(library.getProof(index));
    }
  });

  it('says why there is no proof: a bad address, a wallet not in the epoch, an epoch not closed', async () => {
    const bad = await app.inject({ method: 'GET', url: '/v1/epochs/1/proofs/0x1234' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/not an address/);
    const stranger = newAddress();
    const missing = await app.inject({ method: 'GET', url: `/v1/epochs/1/proofs/${stranger}` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().message).toBe(`Wallet ${stranger} is not in epoch 1: it has had no points paid by epoch 1.`);
    const future = await app.inject({ method: 'GET', url: `/v1/epochs/9/proofs/${wallets[0]}` });
    expect(future.statusCode).toBe(404);
    expect(future.json().message).toBe('No epoch 9: it is not closed.');
    const word = await app.inject({ method: 'GET', url: '/v1/epochs/first' });
    expect(word.statusCode).toBe(400);
  });

  it('records the publishing transaction once', async () => {
    const tx = `0x${'ab'.repeat(32)}`;
    const url = '/v1/admin/epochs/1/published';
    const first = await app.inject({ method: 'POST', url, headers: operator, payload: { tx } });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ publishedTx: tx });
    const again = await app.inject({ method: 'POST', url, headers: operator, payload: { tx } });
    expect(again.json().publishedAt).toBe(first.json().publishedAt);
    const other = await app.inject({ method: 'POST', url, headers: operator, payload: { tx: `0x${'cd'.repeat(32)}` } });
    expect(other.statusCode).toBe(409);
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/admin/epochs/7/published',
      headers: operator,
      payload: { tx },
    });
    expect(unknown.statusCode).toBe(404);
  });

  it('reverses a paid row and shows the deduction in the next epoch', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/admin/ledger/reverse',
      headers: operator,
      payload: { references: [references[0], 'page:unknown'], reason: 'late audit failed' },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json()).toEqual({
      reversed: [references[0]],
      skipped: [{ reference: 'page:unknown', reason: 'no ledger row has this reference' }],
    });
    expect((await close()).json()).toMatchObject({ closed: true, epoch: { epoch: 2, pointsTotal: 0 } });
    const file = epochFileSchema.parse(
      JSON.parse((await app.inject({ method: 'GET', url: '/v1/epochs/2/file' })).body),
    );
    const line = file.wallets.find((candidate) => candidate.address === wallets[0]);
    expect(line).toMatchObject({ earned: 0, reversed: 10, points: 0, debtOut: 10, amount: '0' });
    // Nobody earned in epoch 2: its whole pool is carried to epoch 3.
    expect(file.carriedOut).toBe(file.pool);
  });

  it('reads an epoch only as a plain decimal number or latest', async () => {
    for (const n of [
      '1e0',
      '0x1',
      '1.0',
      '01',
      '+1',
      '%201',
      '0',
      '-1',
      'Infinity',
      '１',
      '9'.repeat(30),
      '2147483648',
    ]) {
      for (const url of [`/v1/epochs/${n}`, `/v1/epochs/${n}/file`, `/v1/epochs/${n}/proofs/${wallets[0]}`]) {
        const response = await app.inject({ method: 'GET', url });
        expect(response.statusCode, url).toBe(400);
        expect(response.json().message, url).toContain('must be an epoch number');
      }
    }
  });

  it('answers 304 to every If-None-Match that names the file, as caches send it', async () => {
    const { contentId } = (await app.inject({ method: 'GET', url: '/v1/epochs/1' })).json();
    for (const ifNoneMatch of [`"other", "${contentId}"`, `W/"${contentId}"`, '*']) {
      const response = await app.inject({
        method: 'GET',
        url: '/v1/epochs/1/file',
        headers: { 'if-none-match': ifNoneMatch },
      });
      expect(response.statusCode, ifNoneMatch).toBe(304);
      expect(response.body).toBe('');
    }
    const other = await app.inject({
      method: 'GET',
      url: '/v1/epochs/1/file',
      headers: { 'if-none-match': `"${contentId}x", W/"b"` },
    });
    expect(other.statusCode).toBe(200);
  });

  it("links files under the server's own origin, whatever Host a client sends", async () => {
    const headers = { host: 'attacker.example', 'x-forwarded-host': 'attacker.example' };
    const summary = (await app.inject({ method: 'GET', url: '/v1/epochs/1', headers })).json();
    expect(summary.fileUrl).toBe('http://gleaner.test/v1/epochs/1/file');
    const list = (await app.inject({ method: 'GET', url: '/v1/epochs', headers })).json();
    expect(list.epochs.map((epoch: { fileUrl: string }) => new URL(epoch.fileUrl).host)).not.toContain(
      'attacker.example',
    );
  });

  it('documents every epoch route in the OpenAPI description', async () => {
    const paths = Object.keys((await app.inject({ method: 'GET', url: '/openapi.json' })).json().paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/v1/epochs',
        '/v1/epochs/{n}',
        '/v1/epochs/{n}/file',
        '/v1/epochs/{n}/proofs/{address}',
        '/v1/admin/epochs/close',
        '/v1/admin/epochs/{n}/published',
        '/v1/admin/ledger/reverse',
      ]),
    );
  });
});
