import { randomUUID } from 'node:crypto';
import type { LeasedTask } from '@protocol/labeling';
import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem/accounts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp, signedInject } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { createBuyerKey, registerDevice, upload } from '../test/scrape-fixtures';
import { aggregateProject } from './label-aggregation';

const sentiment = { type: 'single_choice', choices: ['positive', 'negative', 'neutral'] };

describeEachDatabase('labeling: projects, task leases and labels', (database) => {
  let app: FastifyInstance;
  let apiKey: string;

  beforeAll(async () => {
    // Labels settle as soon as their item's aggregate is in (no settle window), so payments show at once.
    app = await buildTestApp(database(), {}, { work: { labelSettleMs: 0, aggregationIntervalMs: 0 } });
    apiKey = await createBuyerKey(app);
  });
  afterAll(async () => {
    await app.close();
  });

  const asBuyer = () => ({ authorization: `Bearer ${apiKey}` });
  const createProject = async (body: Record<string, unknown>) => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: asBuyer(),
      payload: { name: 'p', instructions: 'Label the sentiment.', labelSchema: sentiment, ...body },
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json() as {
      project: { id: string; progress: Record<string, number> };
      added: number;
      rejected: Array<{ index: number; id: string | null; reason: string }>;
    };
  };
  const leaseTasks = async (device: LocalAccount, max = 5) => {
    const response = await signedInject(app, device, { method: 'POST', url: '/v1/tasks/lease', body: { max } });
    expect(response.statusCode, response.body).toBe(200);
    return (response.json() as { tasks: LeasedTask[] }).tasks;
  };
  const retireOtherProjects = () => database().query(`update project_items set complete = true`);
  const label = (task: LeasedTask, answer: Record<string, unknown>) => ({
    kind: 'label',
    assignmentId: task.assignmentId,
    labeledAt: new Date().toISOString(),
    answer,
  });

  it('keeps the valid items of a project and gives each invalid one its reason', async () => {
    const created = await createProject({
      items: [
        { id: 'a', content: { type: 'text', text: 'I love it' } },
        { id: 'b', content: { type: 'text', text: '' } },
        { id: 'c', content: { type: 'pairwise', prompt: 'q', answers: ['x', 'y'] } },
        { id: 'd', content: { type: 'text', text: 'Meh' }, gold: { type: 'single_choice', choice: 'bored' } },
        { id: 'a', content: { type: 'text', text: 'again' } },
        { id: 'e', content: { type: 'image', imageUrl: 'https://example.com/cat.png' } },
        'not an item',
      ],
    });
    expect(created.added).toBe(2);
    expect(created.rejected.map((entry) => [entry.index, entry.id])).toEqual([
      [1, 'b'],
      [2, 'c'],
      [3, 'd'],
      [4, 'a'],
      [6, null],
    ]);
    expect(created.rejected[1]?.reason).toMatch(/pairwise/);
    expect(created.rejected[2]?.reason).toMatch(/"bored" is not one of positive, negative, neutral/);
    expect(created.rejected[3]?.reason).toMatch(/twice/);
    expect(created.project.progress.items).toBe(2);
  });

  it('rejects an invalid label schema with a reason', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: asBuyer(),
      payload: { name: 'bad', instructions: 'x', labelSchema: { type: 'single_choice', choices: ['only one'] } },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(/labelSchema/);
  });

  /** Sends a body of JSON Lines to a project's items. */
  const sendJsonl = (projectId: string, payload: string) =>
    app.inject({
      method: 'POST',
      url: `/v1/projects/${projectId}/items`,
      headers: { ...asBuyer(), 'content-type': 'application/x-ndjson' },
      payload,
    });

  it('adds more items later from JSONL, one reason per bad line', async () => {
    const created = await createProject({ items: [] });
    const response = await sendJsonl(
      created.project.id,
      [
        JSON.stringify({ id: 'x1', content: { type: 'text', text: 'fine' } }),
        '{not json',
        '',
        JSON.stringify({ id: 'x2', content: { type: 'text', text: 'also fine' } }),
      ].join('\n'),
    );
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().added).toBe(2);
    expect(response.json().rejected).toEqual([
      { index: 1, id: null, reason: expect.stringMatching(/line 2 is not JSON/) },
    ]);
  });

  it('numbers every rejection of a JSONL upload alike: the item’s place among the items, blank lines not counted', async () => {
    const created = await createProject({ items: [] });
    const response = await sendJsonl(
      created.project.id,
      [
        '',
        '',
        '{not json',
        JSON.stringify({ id: 'q', content: { type: 'pairwise', prompt: 'p', answers: ['a', 'b'] } }),
        JSON.stringify({ id: 'ok', content: { type: 'text', text: 'fine' } }),
      ].join('\n'),
    );
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().rejected).toEqual([
      { index: 0, id: null, reason: expect.stringMatching(/^line 3 is not JSON/) },
      { index: 1, id: 'q', reason: expect.stringMatching(/pairwise/) },
    ]);
  });

  it('refuses a JSONL upload nested too deep or holding too many values, as a JSON body is, before parsing it', async () => {
    const created = await createProject({ items: [] });
    const send = (payload: string) => sendJsonl(created.project.id, payload);
    const item = (extra: string) => `{"id":"deep","content":{"type":"text","text":"t"},"pad":${extra}}`;
    const deep = await send(item(`${'['.repeat(100_000)}${']'.repeat(100_000)}`));
    expect(deep.statusCode).toBe(413);
    expect(deep.json().message).toBe('The JSONL body is nested deeper than 32 levels.');
    const wide = await send(item(`[${'0,'.repeat(1_000_001)}0]`));
    expect(wide.statusCode).toBe(413);
    expect(wide.json().message).toBe('The JSONL body is more than 1000000 values.');
    // A broken line does not carry its open brackets into the next: each line is measured alone.
    const broken = await send(['['.repeat(20), '['.repeat(20), item('[[1]]')].join('\n'));
    expect(broken.statusCode, broken.body).toBe(200);
    expect(broken.json().added).toBe(1);
  });

  it('keeps a label whose time is written with an offset the database cannot store (+16:00)', async () => {
    await retireOtherProjects();
    await createProject({
      overlap: 1,
      goldRate: 0,
      items: [{ id: 'far', content: { type: 'text', text: 'far east' } }],
    });
    const labeler = await registerDevice(app);
    const [task] = await leaseTasks(labeler, 1);
    if (!task) throw new Error('no task');
    // The same instant, written sixteen hours ahead: valid ISO 8601, beyond PostgreSQL's ±15:59.
    const instant = Date.now();
    const labeledAt = new Date(instant + 16 * 3_600_000).toISOString().replace('Z', '+16:00');
    const answer = await upload(app, labeler, [
      { ...label(task, { type: 'single_choice', choice: 'positive' }), labeledAt },
    ]);
    expect(answer.acks.map((ack) => ack.status)).toEqual(['accepted']);
    const [stored] = await database().query<{ labeled_at: Date }>('select labeled_at from labels where device = $1', [
      labeler.address,
    ]);
    expect(stored?.labeled_at.getTime()).toBe(instant);
  });

  it('never shows a labeler the same item twice and stops at the overlap', async () => {
    await retireOtherProjects();
    const created = await createProject({
      overlap: 2,
      goldRate: 0,
      items: Array.from({ length: 3 }, (_, i) => ({ id: `i${i}`, content: { type: 'text', text: `text ${i}` } })),
    });
    const labelers = [await registerDevice(app), await registerDevice(app), await registerDevice(app)];
    const seen = new Map<string, string[]>();
    for (const labeler of labelers) {
      for (let round = 0; round < 3; round += 1) {
        const tasks = await leaseTasks(labeler, 2);
        for (const task of tasks) {
          const text = task.content.type === 'text' ? task.content.text : '';
          seen.set(labeler.address, [...(seen.get(labeler.address) ?? []), text]);
        }
        if (tasks.length === 0) break;
        await upload(
          app,
          labeler,
          tasks.map((task) => label(task, { type: 'single_choice', choice: 'positive' })),
        );
      }
    }
    for (const texts of seen.values()) expect(new Set(texts).size).toBe(texts.length);
    const total = [...seen.values()].flat().length;
    expect(total).toBe(6);
    const progress = await app.inject({ method: 'GET', url: `/v1/projects/${created.project.id}`, headers: asBuyer() });
    expect(progress.json().progress).toMatchObject({ itemsComplete: 3, labels: 6, labelers: 2 });
    expect(seen.get(labelers[2]?.address ?? '')).toBeUndefined();
  });

  it('makes gold items indistinguishable from others in what a labeler receives', async () => {
    await retireOtherProjects();
    await createProject({
      goldRate: 0.5,
      overlap: 5,
      items: [
        ...Array.from({ length: 10 }, (_, i) => ({ id: `n${i}`, content: { type: 'text', text: `plain ${i}` } })),
        ...Array.from({ length: 10 }, (_, i) => ({
          id: `g${i}`,
          content: { type: 'text', text: `gold ${i}` },
          gold: { type: 'single_choice', choice: 'neutral' },
        })),
      ],
    });
    const labeler = await registerDevice(app);
    const tasks = await leaseTasks(labeler, 12);
    const gold = tasks.filter((task) => task.content.type === 'text' && task.content.text.startsWith('gold'));
    const plain = tasks.filter((task) => task.content.type === 'text' && task.content.text.startsWith('plain'));
    expect(gold.length).toBeGreaterThan(0);
    expect(plain.length).toBeGreaterThan(0);
    const shape = (task: LeasedTask) => Object.keys(task).sort().join(',') + Object.keys(task.content).sort().join(',');
    expect(new Set([...gold, ...plain].map(shape)).size).toBe(1);
    expect(JSON.stringify(tasks)).not.toMatch(/gold_answer|isGold|"gold"/);
  });

  it('randomizes pairwise order per assignment and maps left/right back to the answer chosen', async () => {
    await retireOtherProjects();
    const created = await createProject({
      labelSchema: { type: 'pairwise' },
      instructions: 'Which answer is more helpful?',
      goldRate: 0,
      overlap: 20,
      items: [{ id: 'pair', content: { type: 'pairwise', prompt: 'Capital of France?', answers: ['Paris', 'Lyon'] } }],
    });
    const orders: string[] = [];
    for (let n = 0; n < 16; n += 1) {
      const labeler = await registerDevice(app);
      const [task] = await leaseTasks(labeler, 1);
      if (task?.content.type !== 'pairwise') throw new Error('expected a pairwise task');
      orders.push(task.content.left);
      const paris = task.content.left === 'Paris' ? 'left' : 'right';
      await upload(app, labeler, [label(task, { type: 'pairwise', preferred: paris })]);
    }
    expect(new Set(orders)).toEqual(new Set(['Paris', 'Lyon']));
    const stored = await database().query<{ value: string }>('select value from labels where project_id = $1', [
      created.project.id,
    ]);
    expect(stored.map((row) => JSON.parse(row.value).preferred)).toEqual(Array(16).fill('a'));
    await app.workQueue.drain();
    const labels = await app.inject({
      method: 'GET',
      url: `/v1/projects/${created.project.id}/labels`,
      headers: asBuyer(),
    });
    expect(labels.json().items[0].aggregate).toMatchObject({ label: 'a', method: 'bt' });
    expect(labels.json().items[0].aggregate.confidence).toBeGreaterThan(0.99);
    const progress = await app.inject({ method: 'GET', url: `/v1/projects/${created.project.id}`, headers: asBuyer() });
    const bias = progress.json().progress.positionBias as Array<{ leftShare: number; biased: boolean }>;
    expect(bias).toHaveLength(16);
    expect(bias.every((entry) => !entry.biased)).toBe(true);
  });

  it('rejects a label that does not fit the schema and keeps the rest of the batch', async () => {
    await retireOtherProjects();
    await createProject({
      goldRate: 0,
      items: [
        { id: 'k1', content: { type: 'text', text: 'one' } },
        { id: 'k2', content: { type: 'text', text: 'two' } },
      ],
    });
    const labeler = await registerDevice(app);
    const [first, second] = await leaseTasks(labeler, 2);
    if (!first || !second) throw new Error('expected two tasks');
    const answer = await upload(app, labeler, [
      label(first, { type: 'single_choice', choice: 'ecstatic' }),
      label(second, { type: 'single_choice', choice: 'negative' }),
      {
        kind: 'label',
        assignmentId: '77777777',
        labeledAt: new Date().toISOString(),
        answer: { type: 'pairwise', preferred: 'left' },
      },
    ]);
    expect(answer.acks.map((ack) => ack.status)).toEqual(['rejected', 'accepted', 'rejected']);
    expect(answer.acks[0]?.reason).toMatch(/"ecstatic" is not one of/);
    expect(answer.acks[2]?.reason).toMatch(/not a lease of this device/);
  });

  it('stops counting the labels of a labeler below the gold threshold, and says why', async () => {
    await retireOtherProjects();
    const created = await createProject({
      goldRate: 0.5,
      overlap: 1,
      items: [
        ...Array.from({ length: 6 }, (_, i) => ({ id: `w${i}`, content: { type: 'text', text: `work ${i}` } })),
        ...Array.from({ length: 6 }, (_, i) => ({
          id: `gg${i}`,
          content: { type: 'text', text: `check ${i}` },
          gold: { type: 'single_choice', choice: 'positive' },
        })),
      ],
    });
    const careless = await registerDevice(app);
    for (let round = 0; round < 12; round += 1) {
      const tasks = await leaseTasks(careless, 1);
      if (tasks.length === 0) break;
      await upload(
        app,
        careless,
        tasks.map((task) => label(task, { type: 'single_choice', choice: 'negative' })),
        randomUUID(),
      );
    }
    const standing = await signedInject(app, careless, { method: 'GET', url: '/v1/devices/me/labeling' });
    expect(standing.json()).toMatchObject({ earning: false, goldCorrect: 0 });
    expect(standing.json().goldAnswered).toBeGreaterThanOrEqual(3);
    expect(standing.json().reason).toMatch(/below the 60% needed/);
    const usable = await database().query<{ usable: number }>(
      `select coalesce(sum(usable_labels), 0)::int as usable from project_items
        where project_id = $1 and gold_answer is null`,
      [created.project.id],
    );
    const labelsAfterWarmUp = await database().query<{ count: number }>(
      `select count(*)::int as count from labels where project_id = $1 and not is_gold`,
      [created.project.id],
    );
    expect(usable[0]?.usable).toBeLessThan(labelsAfterWarmUp[0]?.count ?? 0);
  });

  it('aggregates labels with confidence, pays agreeing labelers and not a labeler who fails gold', async () => {
    await retireOtherProjects();
    const created = await createProject({
      goldRate: 0.3,
      overlap: 3,
      items: [
        ...Array.from({ length: 8 }, (_, i) => ({ id: `r${i}`, content: { type: 'text', text: `review ${i}` } })),
        ...Array.from({ length: 6 }, (_, i) => ({
          id: `rg${i}`,
          content: { type: 'text', text: `gold review ${i}` },
          gold: { type: 'single_choice', choice: i % 2 === 0 ? 'positive' : 'negative' },
        })),
      ],
    });
    const truth = (text: string) => {
      const n = Number(/(\d+)$/.exec(text)?.[1]);
      return n % 2 === 0 ? 'positive' : 'negative';
    };
    const honest = [await registerDevice(app), await registerDevice(app), await registerDevice(app)];
    const spammer = await registerDevice(app);
    for (const labeler of [spammer, ...honest]) {
      for (let round = 0; round < 20; round += 1) {
        const tasks = await leaseTasks(labeler, 3);
        if (tasks.length === 0) break;
        await upload(
          app,
          labeler,
          tasks.map((task) => {
            const text = task.content.type === 'text' ? task.content.text : '';
            const choice = labeler === spammer ? 'neutral' : truth(text);
            return label(task, { type: 'single_choice', choice });
          }),
        );
      }
    }
    await app.workQueue.drain();

    const labels = await app.inject({
      method: 'GET',
      url: `/v1/projects/${created.project.id}/labels?limit=1000`,
      headers: asBuyer(),
    });
    const items = labels.json().items as Array<{
      id: string;
      gold: boolean;
      complete: boolean;
      aggregate: { label: string; confidence: number; method: string } | null;
    }>;
    const work = items.filter((item) => !item.gold);
    expect(work.every((item) => item.complete)).toBe(true);
    // The project's progress names the method the auto choice kept, with its priors.
    const project = await app.inject({ method: 'GET', url: `/v1/projects/${created.project.id}`, headers: asBuyer() });
    const aggregation = project.json().progress.aggregation;
    expect(['mv', 'wawa', 'ds', 'onecoin', 'mace']).toContain(aggregation.method);
    expect(['gold', 'answers']).toContain(aggregation.selectedBy);
    expect(typeof aggregation.parameters).toBe('object');
    for (const item of work) {
      expect(item.aggregate?.method).toBe(['mv', 'wawa'].includes(aggregation.method) ? 'mv' : 'ds');
      expect(item.aggregate?.label, item.id).toBe(Number(item.id.slice(1)) % 2 === 0 ? 'positive' : 'negative');
      expect(item.aggregate?.confidence).toBeGreaterThan(0.5);
    }
    const standing = async (device: LocalAccount) =>
      (await signedInject(app, device, { method: 'GET', url: '/v1/devices/me/labeling' })).json();
    const spammerStanding = await standing(spammer);
    expect(spammerStanding.earning).toBe(false);
    expect(spammerStanding.points.verified).toBe(0);
    for (const labeler of honest) expect((await standing(labeler)).points.verified).toBeGreaterThan(0);

    // Running it again pays nothing twice.
    const before = await database().query<{ n: number }>('select count(*)::int as n from points_ledger');
    await aggregateProject(database(), created.project.id, { settleWindowMs: 0 });
    await app.workQueue.drain();
    const after = await database().query<{ n: number }>('select count(*)::int as n from points_ledger');
    expect(after[0]?.n).toBe(before[0]?.n);
  });
});
