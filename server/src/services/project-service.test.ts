import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { healthDuring } from '../test/health-during';
import { createBuyerKey } from '../test/scrape-fixtures';

const testOrigin = 'http://127.0.0.1:4201';
const sentiment = { type: 'single_choice', choices: ['positive', 'negative'] };
const textItems = (count: number, prefix = 't') =>
  Array.from({ length: count }, (_, i) => ({ id: `${prefix}${i}`, content: { type: 'text', text: `text ${i}` } }));

describeEachDatabase('project items: a cap per request, taken in chunks, images vetted', (database) => {
  let app: FastifyInstance;
  let apiKey: string;
  const asBuyer = () => ({ authorization: `Bearer ${apiKey}` });
  const createProject = (items: unknown[]) =>
    app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: asBuyer(),
      payload: { name: 'p', instructions: 'Label it.', labelSchema: sentiment, items },
    });

  beforeAll(async () => {
    app = await buildTestApp(database(), { testOrigins: [testOrigin] });
    apiKey = await createBuyerKey(app);
  });
  afterAll(async () => {
    await app.close();
  });

  it('refuses more than 10,000 items per request, as JSON or JSONL, naming the cap and the way on', async () => {
    const created = await createProject(textItems(10_001));
    expect(created.statusCode).toBe(400);
    expect(created.json().message).toMatch(/at most 10,000 items per request.*POST \/v1\/projects\/\{id\}\/items/);

    const empty = await createProject([]);
    const id = empty.json().project.id as string;
    const asJson = await app.inject({
      method: 'POST',
      url: `/v1/projects/${id}/items`,
      headers: asBuyer(),
      payload: textItems(10_001),
    });
    expect(asJson.statusCode).toBe(400);
    expect(asJson.json()).toEqual({
      code: 'bad_request',
      message: expect.stringMatching(/at most 10,000 items per request \(this one has 10,001\)/),
    });
    const asJsonl = await app.inject({
      method: 'POST',
      url: `/v1/projects/${id}/items`,
      headers: { ...asBuyer(), 'content-type': 'application/x-ndjson' },
      payload: textItems(10_001)
        .map((item) => JSON.stringify(item))
        .join('\n'),
    });
    expect(asJsonl.statusCode).toBe(400);
    expect(asJsonl.json().message).toMatch(/at most 10,000 items per request/);
    const progress = await app.inject({ method: 'GET', url: `/v1/projects/${id}`, headers: asBuyer() });
    expect(progress.json().progress.items).toBe(0);
  });

  it('takes 10,000 items in chunks, answering other requests meanwhile', async () => {
    let added: number | undefined;
    const timing = await healthDuring(app, async () => {
      const created = await createProject(textItems(10_000));
      expect(created.statusCode, created.body).toBe(201);
      added = created.json().added;
    });
    expect(added).toBe(10_000);
    expect(timing.slowestHealthMs).toBeLessThan(timing.sendMs / 2);
  });

  it('refuses an item whose id or text holds a NUL or a broken surrogate, keeping every other item of its chunk', async () => {
    const items: Array<{ id: string; content: { type: string; text: string } }> = textItems(1_500);
    const bad = new Map([
      [500, { id: 'n\u0000', content: { type: 'text', text: 'fine' } }],
      [600, { id: 'x\ud800', content: { type: 'text', text: 'fine' } }],
      [700, { id: 'nul-text', content: { type: 'text', text: 'a\u0000b' } }],
      [800, { id: 'surrogate-text', content: { type: 'text', text: 'a\udc00b' } }],
    ]);
    for (const [at, item] of bad) items[at] = item;
    const created = await createProject(items);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().added).toBe(1_496);
    expect(created.json().rejected).toEqual([
      { index: 500, id: 'n\u0000', reason: expect.stringMatching(/^id: must not hold a NUL character or a broken/) },
      { index: 600, id: 'x\ud800', reason: expect.stringMatching(/^id: must not hold a NUL character or a broken/) },
      { index: 700, id: 'nul-text', reason: expect.stringMatching(/^content\.text: must not hold a NUL/) },
      { index: 800, id: 'surrogate-text', reason: expect.stringMatching(/^content\.text: must not hold a NUL/) },
    ]);
    // The same as JSONL to a project's items: the bad lines refused, the rest kept.
    const id = created.json().project.id as string;
    const lines = [...bad.values(), ...textItems(3, 'more')].map((item) => JSON.stringify(item)).join('\n');
    const added = await app.inject({
      method: 'POST',
      url: `/v1/projects/${id}/items`,
      headers: { ...asBuyer(), 'content-type': 'application/x-ndjson' },
      payload: lines,
    });
    expect(added.statusCode, added.body).toBe(200);
    expect(added.json().added).toBe(3);
    expect(added.json().rejected).toHaveLength(4);
    const progress = await app.inject({ method: 'GET', url: `/v1/projects/${id}`, headers: asBuyer() });
    expect(progress.json().progress.items).toBe(1_499);
  });

  it('refuses, as a 400 naming the field, worked examples and label schemas that cannot be stored or read back', async () => {
    const refusals: Array<[Record<string, unknown>, RegExp]> = [
      [
        {
          examples: [
            { content: { type: 'text', text: 'a\u0000b' }, answer: { type: 'single_choice', choice: 'positive' } },
          ],
        },
        /examples\.0\.content\.text must not hold a NUL/,
      ],
      [
        {
          examples: [
            { content: { type: 'text', text: 'a\ud800b' }, answer: { type: 'single_choice', choice: 'positive' } },
          ],
        },
        /examples\.0\.content\.text must not hold a NUL/,
      ],
      [
        { labelSchema: { type: 'single_choice', choices: ['a\u0000', 'b'] } },
        /labelSchema\.choices\.0 must not hold a NUL/,
      ],
      [{ labelSchema: { type: 'single_choice', choices: ['x', 'x'] } }, /labelSchema\.choices\.1 "x" is given twice/],
      [
        { labelSchema: { type: 'multi_choice', choices: ['a|b', 'a', 'b'] } },
        /labelSchema\.choices\.0 must not hold "\|"/,
      ],
      [{ labelSchema: { type: 'spans', labels: ['who|where'] } }, /labelSchema\.labels\.0 must not hold "\|"/],
    ];
    for (const [change, message] of refusals) {
      const response = await app.inject({
        method: 'POST',
        url: '/v1/projects',
        headers: asBuyer(),
        payload: { name: 'p', instructions: 'Label it.', labelSchema: sentiment, ...change },
      });
      expect(response.statusCode, response.body).toBe(400);
      expect(response.json().message, JSON.stringify(change)).toMatch(message);
    }
    // "|" is fine in a single-choice answer: it is the whole answer.
    const piped = await app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: asBuyer(),
      payload: { name: 'p', instructions: 'Label it.', labelSchema: { type: 'single_choice', choices: ['a|b', 'c'] } },
    });
    expect(piped.statusCode, piped.body).toBe(201);
  });

  it('refuses image items on private, link-local or local addresses with the rule, keeping the others', async () => {
    const images = [
      'http://192.168.1.1/cgi-bin/luci',
      'http://169.254.169.254/latest/meta-data/iam/',
      'http://localhost:9222/json/version',
      'https://images.example.com/cat.png',
      `${testOrigin}/local-test-image.png`,
    ].map((imageUrl, i) => ({ id: `img${i}`, content: { type: 'image', imageUrl } }));
    const created = await createProject(images.slice(0, 3));
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().added).toBe(0);
    expect(created.json().rejected).toEqual([
      { index: 0, id: 'img0', reason: expect.stringMatching(/^content\.imageUrl is refused \(ip_not_public\)/) },
      { index: 1, id: 'img1', reason: expect.stringMatching(/^content\.imageUrl is refused \(ip_not_public\)/) },
      { index: 2, id: 'img2', reason: expect.stringMatching(/^content\.imageUrl is refused \(port_not_allowed\)/) },
    ]);

    const id = created.json().project.id as string;
    const added = await app.inject({
      method: 'POST',
      url: `/v1/projects/${id}/items`,
      headers: asBuyer(),
      payload: images,
    });
    expect(added.statusCode, added.body).toBe(200);
    expect(added.json().added).toBe(2);
    expect(added.json().rejected.map((entry: { id: string }) => entry.id)).toEqual(['img0', 'img1', 'img2']);
    const stored = await database().query<{ external_id: string }>(
      'select external_id from project_items where project_id = $1 order by external_id',
      [id],
    );
    expect(stored.map((row) => row.external_id)).toEqual(['img3', 'img4']);
  });
});
