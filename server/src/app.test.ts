import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp } from './test/app';
import { describeEachDatabase } from './test/databases';

describeEachDatabase('the app shell', (database, kind) => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp(database());
    // A route that fails the way a bug would, to see what a client is told.
    app.get('/test/explode', async () => {
      throw new Error('secret connection string postgres://admin:hunter2@db');
    });
  });
  afterAll(async () => {
    await app.close();
  });

  it('reports health with the database in use', async () => {
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ status: 'ok', database: kind, devices: 0 });
  });

  it('publishes an OpenAPI document generated from the protocol schemas, browsable at /docs', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(spec.openapi).toMatch(/^3\./);
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/health', '/v1/devices', '/v1/devices/me']));
    expect(spec.paths['/v1/devices'].post.requestBody.content['application/json'].schema.properties).toHaveProperty(
      'browser',
    );
    const docs = await app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(docs.statusCode);
  });

  it('masks the details of a server error and gives the request id to quote', async () => {
    const response = await app.inject({ method: 'GET', url: '/test/explode', headers: { 'x-request-id': 'trace-42' } });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ code: 'internal_error', message: 'Internal error (request trace-42).' });
    expect(response.body).not.toContain('hunter2');
    expect(response.headers['x-request-id']).toBe('trace-42');
  });

  it('answers an unknown route with a JSON 404', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/nothing-here' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'not_found' });
  });
});
