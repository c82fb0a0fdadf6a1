import type { LeasedTask } from '@protocol/labeling';
import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem/accounts';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { buildTestApp, signedInject } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { createBuyerKey, registerDevice, upload } from '../test/scrape-fixtures';

describeEachDatabase('labels that arrive after their task lease ran out', (database) => {
  let app: FastifyInstance;
  let apiKey: string;

  beforeAll(async () => {
    app = await buildTestApp(database());
    apiKey = await createBuyerKey(app);
  });
  afterAll(async () => {
    await app.close();
  });
  beforeEach(async () => {
    await database().query('update project_items set complete = true');
  });

  async function oneItemProject(): Promise<string> {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: {
        name: 'late labels',
        instructions: 'Pick one.',
        labelSchema: { type: 'single_choice', choices: ['yes', 'no'] },
        overlap: 1,
        goldRate: 0,
        items: [{ id: 'only', content: { type: 'text', text: 'Is this late?' } }],
      },
    });
    expect(response.statusCode, response.body).toBe(201);
    return response.json().project.id as string;
  }
  const leaseOne = async (device: LocalAccount): Promise<LeasedTask> => {
    const response = await signedInject(app, device, { method: 'POST', url: '/v1/tasks/lease', body: { max: 1 } });
    const [task] = (response.json() as { tasks: LeasedTask[] }).tasks;
    if (!task) throw new Error(`no task: ${response.body}`);
    return task;
  };
  /** The lease began six minutes ago and ran out a second ago; the label was given while it held. */
  const expire = async (task: LeasedTask) => {
    await database().query(
      `update task_assignments set leased_at = now() - interval '6 minutes', expires_at = now() - interval '1 second'
        where id = $1`,
      [task.assignmentId],
    );
    return new Date(Date.now() - 60_000).toISOString();
  };
  const usableLabels = async (projectId: string) =>
    (
      await database().query<{ usable_labels: number }>(
        'select usable_labels from project_items where project_id = $1',
        [projectId],
      )
    )[0]?.usable_labels;

  it('refuses a late label once others have given its item every label it needs', async () => {
    const projectId = await oneItemProject();
    const slow = await registerDevice(app);
    const quick = await registerDevice(app);
    const slowTask = await leaseOne(slow);
    const labeledAt = await expire(slowTask);
    const quickTask = await leaseOne(quick);
    const quickAnswer = await upload(app, quick, [
      {
        kind: 'label',
        assignmentId: quickTask.assignmentId,
        labeledAt: new Date().toISOString(),
        answer: { type: 'single_choice', choice: 'yes' },
      },
    ]);
    expect(quickAnswer.acks[0]?.status).toBe('accepted');
    const late = await upload(app, slow, [
      {
        kind: 'label',
        assignmentId: slowTask.assignmentId,
        labeledAt,
        answer: { type: 'single_choice', choice: 'no' },
      },
    ]);
    expect(late.acks[0]).toMatchObject({ status: 'rejected', code: 'job_complete' });
    expect(await usableLabels(projectId)).toBe(1);
  });

  it('counts a late label while its item still has room', async () => {
    const projectId = await oneItemProject();
    const slow = await registerDevice(app);
    const task = await leaseOne(slow);
    const labeledAt = await expire(task);
    const late = await upload(app, slow, [
      { kind: 'label', assignmentId: task.assignmentId, labeledAt, answer: { type: 'single_choice', choice: 'no' } },
    ]);
    expect(late.acks[0]?.status).toBe('accepted');
    expect(await usableLabels(projectId)).toBe(1);
  });

  it('refuses a label given after its lease ran out', async () => {
    await oneItemProject();
    const slow = await registerDevice(app);
    const task = await leaseOne(slow);
    await expire(task);
    const answer = await upload(app, slow, [
      {
        kind: 'label',
        assignmentId: task.assignmentId,
        labeledAt: new Date(Date.now() + 10 * 60_000).toISOString(),
        answer: { type: 'single_choice', choice: 'no' },
      },
    ]);
    expect(answer.acks[0]).toMatchObject({ status: 'rejected', code: 'outside_lease' });
  });
});
