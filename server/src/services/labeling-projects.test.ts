import type { LabelingProjects, LeasedTask, Project } from '@protocol/labeling';
import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/database';
import { buildTestApp, signedInject } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { createBuyerKey, registerDevice, upload } from '../test/scrape-fixtures';

const sentiment = { type: 'single_choice', choices: ['positive', 'negative'] } as const;
const textItems = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => ({ id: `${prefix}${i}`, content: { type: 'text', text: `${prefix} ${i}` } }));

describeEachDatabase('labeling: a choice of project, progress and worked examples', (database) => {
  let app: FastifyInstance;
  let apiKey: string;

  const createProject = (payload: Record<string, unknown>) =>
    app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: { instructions: 'Label the sentiment.', labelSchema: sentiment, overlap: 1, goldRate: 0, ...payload },
    });
  const created = async (payload: Record<string, unknown>): Promise<Project> => {
    const response = await createProject(payload);
    expect(response.statusCode, response.body).toBe(201);
    return (response.json() as { project: Project }).project;
  };
  const leaseTasks = async (device: LocalAccount, body: Record<string, unknown>) => {
    const response = await signedInject(app, device, { method: 'POST', url: '/v1/tasks/lease', body });
    expect(response.statusCode, response.body).toBe(200);
    return (response.json() as { tasks: LeasedTask[] }).tasks;
  };
  const projectsFor = async (device: LocalAccount) => {
    const response = await signedInject(app, device, { method: 'GET', url: '/v1/tasks/projects' });
    expect(response.statusCode, response.body).toBe(200);
    return (response.json() as LabelingProjects).projects;
  };

  let db: Database;

  beforeAll(async () => {
    db = database();
    app = await buildTestApp(db);
    apiKey = await createBuyerKey(app);
  });
  afterAll(async () => {
    await app.close();
  });

  describe('project choice', () => {
    let older: Project;
    let newer: Project;
    beforeAll(async () => {
      older = await created({ name: 'Older reviews', items: textItems('old', 3) });
      newer = await created({
        name: 'Newer reviews',
        goldRate: 0.5,
        items: [
          ...textItems('new', 4),
          {
            id: 'check',
            content: { type: 'text', text: 'Loved it.' },
            gold: { type: 'single_choice', choice: 'positive' },
          },
        ],
      });
    });

    it('lists the projects with work for this labeler, with progress and no word on gold items', async () => {
      const labeler = await registerDevice(app);
      const listed = (await projectsFor(labeler)).filter((project) => [older.id, newer.id].includes(project.id));
      expect(listed).toEqual([
        { id: older.id, name: 'Older reviews', labelType: 'single_choice', items: 3, itemsComplete: 0, yourLabels: 0 },
        { id: newer.id, name: 'Newer reviews', labelType: 'single_choice', items: 4, itemsComplete: 0, yourLabels: 0 },
      ]);
    });

    it('leases only from the chosen project, and counts the labeler’s answers and the crowd’s progress', async () => {
      const labeler = await registerDevice(app);
      const tasks = await leaseTasks(labeler, { max: 2, projectId: newer.id });
      expect(tasks.map((task) => task.projectId)).toEqual([newer.id, newer.id]);
      const acks = await upload(
        app,
        labeler,
        tasks.map((task) => ({
          kind: 'label',
          assignmentId: task.assignmentId,
          labeledAt: new Date().toISOString(),
          answer: { type: 'single_choice', choice: 'positive' },
        })),
      );
      expect(acks.acks.map((ack) => ack.status)).toEqual(['accepted', 'accepted']);
      const mine = (await projectsFor(labeler)).find((project) => project.id === newer.id);
      // Overlap 1: each ordinary item answered is complete; a check item answered is not counted among items.
      const ordinaryAnswered = tasks.filter(
        (task) => task.content.type === 'text' && task.content.text !== 'Loved it.',
      );
      expect(mine).toMatchObject({ items: 4, itemsComplete: ordinaryAnswered.length, yourLabels: 2 });
      // Without a choice, the oldest project with work comes first, as before.
      expect((await leaseTasks(labeler, { max: 1 })).map((task) => task.projectId)).toEqual([older.id]);
    });

    it('leases nothing from a chosen project that has no work, rather than from another', async () => {
      const empty = await created({ name: 'Empty', items: [] });
      const labeler = await registerDevice(app);
      expect(await leaseTasks(labeler, { max: 3, projectId: empty.id })).toEqual([]);
      expect((await projectsFor(labeler)).map((project) => project.id)).not.toContain(empty.id);
    });

    it('lists a project while this labeler holds its tasks, drops it once all its work is answered, or once it is paused', async () => {
      const small = await created({ name: 'One item', items: textItems('one', 1) });
      const labeler = await registerDevice(app);
      expect((await projectsFor(labeler)).map((project) => project.id)).toContain(small.id);
      const [task] = await leaseTasks(labeler, { max: 1, projectId: small.id });
      // Its last item sits in this labeler's queue: still listed, so the labeler can choose it.
      expect((await projectsFor(labeler)).map((project) => project.id)).toContain(small.id);
      await upload(app, labeler, [
        {
          kind: 'label',
          assignmentId: task?.assignmentId,
          labeledAt: new Date().toISOString(),
          answer: { type: 'single_choice', choice: 'positive' },
        },
      ]);
      expect((await projectsFor(labeler)).map((project) => project.id)).not.toContain(small.id);

      const other = await registerDevice(app);
      const paused = await created({ name: 'Paused', items: textItems('paused', 2) });
      await app.inject({
        method: 'POST',
        url: `/v1/projects/${paused.id}/pause`,
        headers: { authorization: `Bearer ${apiKey}` },
      });
      expect((await projectsFor(other)).map((project) => project.id)).not.toContain(paused.id);
      expect(await leaseTasks(other, { max: 1, projectId: paused.id })).toEqual([]);
    });

    it('refuses a project id that is not a uuid', async () => {
      const labeler = await registerDevice(app);
      const response = await signedInject(app, labeler, {
        method: 'POST',
        url: '/v1/tasks/lease',
        body: { max: 1, projectId: 'mine' },
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ code: 'bad_request' });
    });
  });

  describe('worked examples', () => {
    const examples = [
      { content: { type: 'text', text: 'Great value.' }, answer: { type: 'single_choice', choice: 'positive' } },
      {
        content: { type: 'text', text: 'Broke in a day.' },
        answer: { type: 'single_choice', choice: 'negative' },
        explanation: 'A product that fails is negative, however polite the words.',
      },
    ];

    it('stores the examples, returns them with the project and with every task of it', async () => {
      const project = await created({ name: 'With examples', examples, items: textItems('ex', 2) });
      expect(project.examples).toEqual(examples);
      const read = await app.inject({
        method: 'GET',
        url: `/v1/projects/${project.id}`,
        headers: { authorization: `Bearer ${apiKey}` },
      });
      expect(read.json()).toMatchObject({ examples });
      // Stored as an array on both databases, not as a JSON string of one (as the postgres driver once did).
      const [stored] = await db.query<{ kind: string }>(
        'select jsonb_typeof(examples) as kind from projects where id = $1',
        [project.id],
      );
      expect(stored?.kind).toBe('array');
      const labeler = await registerDevice(app);
      const tasks = await leaseTasks(labeler, { max: 2, projectId: project.id });
      expect(tasks).toHaveLength(2);
      for (const task of tasks) expect(task.examples).toEqual(examples);
    });

    it('sends no examples field with tasks of a project that has none', async () => {
      const project = await created({ name: 'No examples', items: textItems('plain', 1) });
      expect(project.examples).toEqual([]);
      const [task] = await leaseTasks(await registerDevice(app), { max: 1, projectId: project.id });
      expect(task && 'examples' in task).toBe(false);
    });

    it('refuses an example whose answer does not fit the schema, naming it, and creates nothing', async () => {
      const before = await database().query<{ count: number }>('select count(*)::int as count from projects');
      const response = await createProject({
        name: 'Bad example',
        examples: [
          examples[0],
          { content: { type: 'text', text: 'Meh.' }, answer: { type: 'single_choice', choice: 'neutral' } },
        ],
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({
        code: 'bad_request',
        message: expect.stringMatching(/examples\.1: .*neutral/),
      });
      const after = await database().query<{ count: number }>('select count(*)::int as count from projects');
      expect(after[0]?.count).toBe(before[0]?.count);
    });

    it('refuses more examples than allowed, and examples too large together', async () => {
      const six = Array.from({ length: 6 }, () => examples[0]);
      const tooMany = await createProject({ name: 'Too many', examples: six });
      expect(tooMany.statusCode).toBe(400);
      expect(tooMany.json().message).toMatch(/at most 5 examples/);
      const long = { content: { type: 'text', text: 'x'.repeat(15_000) }, answer: examples[0]?.answer };
      const tooLarge = await createProject({ name: 'Too large', examples: [long, long] });
      expect(tooLarge.statusCode).toBe(400);
      expect(tooLarge.json().message).toMatch(/at most 20,000 characters/);
    });
  });
});
