import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp, testOperatorToken } from '../test/app';
import { describeEachDatabase } from '../test/databases';

const asOperator = { authorization: `Bearer ${testOperatorToken}` };

describeEachDatabase('buyer accounts and API keys', (database) => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp(database());
  });
  afterAll(async () => {
    await app.close();
  });

  const createBuyer = async (name: string) => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/admin/buyers',
      headers: asOperator,
      payload: { name, email: 'data@example.com' },
    });
    expect(response.statusCode).toBe(201);
    return response.json() as { apiKey: string; buyer: { id: string }; key: { id: string } };
  };
  const whoAmI = (authorization?: string) =>
    app.inject({ method: 'GET', url: '/v1/buyer', headers: authorization ? { authorization } : {} });

  it('issues a key once that authenticates its buyer, and stores only a hash of it', async () => {
    const issued = await createBuyer('Acme Research');
    expect(issued.apiKey).toMatch(/^glk_[a-z0-9]{12}_/);
    const me = await whoAmI(`Bearer ${issued.apiKey}`);
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: issued.buyer.id, name: 'Acme Research' });

    const stored = await database().query<{ secret_sha256: string }>(
      'select secret_sha256 from api_keys where id = $1',
      [issued.key.id],
    );
    expect(stored[0]?.secret_sha256).toMatch(/^[0-9a-f]{64}$/);
    const secret = /^glk_[a-z0-9]{12}_(.+)$/.exec(issued.apiKey)?.[1] ?? '';
    expect(secret).toHaveLength(43);
    expect(JSON.stringify(stored)).not.toContain(secret);

    const listed = await app.inject({ method: 'GET', url: '/v1/admin/buyers', headers: asOperator });
    expect(JSON.stringify(listed.json())).not.toContain(issued.apiKey);
  });

  it('answers 401 api_key_missing without a key', async () => {
    const response = await whoAmI();
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('api_key_missing');
  });

  it('answers 401 api_key_invalid for a wrong or malformed key', async () => {
    const issued = await createBuyer('Wrong Key Ltd');
    const wrongSecret = `${issued.apiKey.slice(0, -4)}AAAA`;
    for (const key of [wrongSecret, 'glk_notavalidkey', `glk_zzzzzzzzzzzz_${'a'.repeat(43)}`]) {
      const response = await whoAmI(`Bearer ${key}`);
      expect(response.statusCode, key).toBe(401);
      expect(response.json().code, key).toBe('api_key_invalid');
    }
  });

  it('answers 401 api_key_revoked once a key is revoked, while the buyer’s other keys still work', async () => {
    const issued = await createBuyer('Revoker Inc');
    const second = await app.inject({
      method: 'POST',
      url: `/v1/admin/buyers/${issued.buyer.id}/keys`,
      headers: asOperator,
    });
    expect(second.statusCode).toBe(201);
    const revoke = await app.inject({
      method: 'POST',
      url: `/v1/admin/api-keys/${issued.key.id}/revoke`,
      headers: asOperator,
    });
    expect(revoke.statusCode).toBe(200);
    expect(revoke.json().revokedAt).not.toBeNull();

    const revoked = await whoAmI(`Bearer ${issued.apiKey}`);
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json().code).toBe('api_key_revoked');
    expect((await whoAmI(`Bearer ${second.json().apiKey}`)).statusCode).toBe(200);
  });

  it('says what is missing when an unknown key or buyer is named', async () => {
    const key = await app.inject({
      method: 'POST',
      url: '/v1/admin/api-keys/aaaaaaaaaaaa/revoke',
      headers: asOperator,
    });
    expect(key.statusCode).toBe(404);
    expect(key.json()).toMatchObject({ code: 'not_found', message: 'No API key aaaaaaaaaaaa.' });
    const buyer = await app.inject({
      method: 'POST',
      url: '/v1/admin/buyers/00000000-0000-4000-8000-000000000000/keys',
      headers: asOperator,
    });
    expect(buyer.statusCode).toBe(404);
  });

  it('keeps the admin API closed without the operator token', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-the-operator-token' }]) {
      const response = await app.inject({ method: 'POST', url: '/v1/admin/buyers', headers, payload: { name: 'x' } });
      expect(response.statusCode).toBe(401);
      expect(response.json().code).toBe('operator_token_invalid');
    }
  });

  it('rejects a buyer without a name with a reason', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/admin/buyers', headers: asOperator, payload: {} });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/name/);
  });
});
