import type { LeasedTask } from '@protocol/labeling';
import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem/accounts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp, signedInject } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { createBuyerKey, registerDevice, upload } from '../test/scrape-fixtures';

const cap = 3;

describeEachDatabase('task leases: a cap per labeler', (database) => {
  let app: FastifyInstance;

  const leaseTasks = async (device: LocalAccount, max = 5) => {
    const response = await signedInject(app, device, { method: 'POST', url: '/v1/tasks/lease', body: { max } });
    expect(response.statusCode, response.body).toBe(200);
    return (response.json() as { tasks: LeasedTask[] }).tasks;
  };
  const liveTasks = async (address: string) =>
    (
      await database().query<{ count: number }>(
        `select count(*)::int as count from task_assignments where device = $1 and state = 'leased' and expires_at > now()`,
        [address],
      )
    )[0]?.count;

  beforeAll(async () => {
    app = await buildTestApp(database(), { limits: { taskLeasesPerDevice: cap } });
    const apiKey = await createBuyerKey(app);
    const created = await app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: {
        name: 'hoarding',
        instructions: 'Label the sentiment.',
        labelSchema: { type: 'single_choice', choices: ['positive', 'negative'] },
        overlap: 1,
        goldRate: 0,
        items: Array.from({ length: 40 }, (_, i) => ({ id: `i${i}`, content: { type: 'text', text: `text ${i}` } })),
      },
    });
    expect(created.statusCode, created.body).toBe(201);
  });
  afterAll(async () => {
    await app.close();
  });

  it('never lets a labeler hold more live tasks than its cap, asked again and again or all at once', async () => {
    const hoarder = await registerDevice(app);
    const held: string[] = [];
    for (let round = 0; round < 5; round += 1)
      held.push(...(await leaseTasks(hoarder, 5)).map((task) => task.assignmentId));
    expect(held).toHaveLength(cap);

    const rusher = await registerDevice(app);
    const burst = await Promise.all(Array.from({ length: 10 }, () => leaseTasks(rusher, 5)));
    expect(burst.flat()).toHaveLength(cap);
    expect(await liveTasks(rusher.address)).toBe(cap);
  });

  it('lets a labeler lease again once its tasks are answered or have expired', async () => {
    const labeler = await registerDevice(app);
    const first = await leaseTasks(labeler, 5);
    expect(first).toHaveLength(cap);
    expect(await leaseTasks(labeler, 5)).toHaveLength(0);
    const answer = await upload(
      app,
      labeler,
      first.map((task) => ({
        kind: 'label',
        assignmentId: task.assignmentId,
        labeledAt: new Date().toISOString(),
        answer: { type: 'single_choice', choice: 'positive' },
      })),
    );
    expect(answer.acks.map((ack) => ack.status)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(await leaseTasks(labeler, 5)).toHaveLength(cap);

    await database().query(`update task_assignments set expires_at = now() - interval '1 second' where device = $1`, [
      labeler.address,
    ]);
    expect(await leaseTasks(labeler, 5)).toHaveLength(cap);
  });
});
