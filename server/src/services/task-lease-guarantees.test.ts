import type { LeasedTask } from '@protocol/labeling';
import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem/accounts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildTestApp, signedInject } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { createBuyerKey, registerDevice } from '../test/scrape-fixtures';

const cap = 4;

describeEachDatabase('task leases under concurrent labelers', (database) => {
  let app: FastifyInstance;
  let apiKey: string;

  beforeAll(async () => {
    app = await buildTestApp(database(), { limits: { taskLeasesPerDevice: cap } });
    apiKey = await createBuyerKey(app);
  });
  afterAll(async () => {
    await app.close();
  });

  const createProject = async (body: Record<string, unknown>): Promise<string> => {
    await database().query('update project_items set complete = true');
    const response = await app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: {
        name: 'crowd',
        instructions: 'Label the sentiment.',
        labelSchema: { type: 'single_choice', choices: ['positive', 'negative'] },
        ...body,
      },
    });
    expect(response.statusCode, response.body).toBe(201);
    return (response.json() as { project: { id: string } }).project.id;
  };
  const leaseTasks = async (device: LocalAccount, max: number): Promise<LeasedTask[]> => {
    const response = await signedInject(app, device, { method: 'POST', url: '/v1/tasks/lease', body: { max } });
    expect(response.statusCode, response.body).toBe(200);
    return (response.json() as { tasks: LeasedTask[] }).tasks;
  };
  const items = (count: number, prefix: string, gold?: string) =>
    Array.from({ length: count }, (_, i) => ({
      id: `${prefix}${i}`,
      content: { type: 'text', text: `${prefix} ${i}` },
      ...(gold ? { gold: { type: 'single_choice', choice: gold } } : {}),
    }));

  it('never leases an item beyond its overlap, nor to one labeler twice or past its cap, all leasing at once', async () => {
    const projectId = await createProject({ overlap: 2, goldRate: 0, items: items(6, 'w') });
    const labelers = await Promise.all(Array.from({ length: 10 }, () => registerDevice(app)));
    // Every labeler asks three times at once, for more than its cap; 6 items x overlap 2 = 12 leases at most.
    const leased = await Promise.all(
      labelers.flatMap((labeler) => [5, 3, 5].map((max) => leaseTasks(labeler, max).then((tasks) => tasks.length))),
    );
    expect(leased.reduce((sum, n) => sum + n, 0)).toBeLessThanOrEqual(12);

    const perItem = await database().query<{ leases: number; devices: number }>(
      `select count(*)::int as leases, count(distinct device)::int as devices from task_assignments
        where project_id = $1 and state = 'leased' group by item_id`,
      [projectId],
    );
    expect(perItem.filter((item) => item.leases > 2 || item.devices !== item.leases)).toEqual([]);
    const perDevice = await database().query<{ leases: number }>(
      `select count(*)::int as leases from task_assignments where project_id = $1 group by device`,
      [projectId],
    );
    expect(perDevice.filter((device) => device.leases > cap)).toEqual([]);

    // Once nobody holds a row, what is left is handed out, still within the overlap.
    for (const labeler of labelers) await leaseTasks(labeler, 5);
    const after = await database().query<{ leases: number }>(
      `select count(*)::int as leases from task_assignments where project_id = $1 and state = 'leased' group by item_id`,
      [projectId],
    );
    expect(after.map((item) => item.leases)).toEqual(Array(6).fill(2));
  });

  it('frees an item the moment its lease runs out, before any sweep marks it expired', async () => {
    const projectId = await createProject({ overlap: 1, goldRate: 0, items: items(1, 'solo') });
    const [slow, next] = [await registerDevice(app), await registerDevice(app)];
    if (!slow || !next) throw new Error('labelers not registered');
    expect(await leaseTasks(slow, 1)).toHaveLength(1);
    expect(await leaseTasks(next, 1)).toHaveLength(0);
    await database().query(
      `update task_assignments set expires_at = now() - interval '1 second' where project_id = $1`,
      [projectId],
    );
    const [task] = await leaseTasks(next, 1);
    expect(task?.projectId).toBe(projectId);
    const live = await database().query(
      `select 1 from task_assignments where project_id = $1 and state = 'leased' and expires_at >= now()`,
      [projectId],
    );
    expect(live).toHaveLength(1);
  });

  it("keeps each labeler's share of gold within one task of the project's rate, whatever it asks for at once", async () => {
    const projectId = await createProject({
      overlap: 1,
      goldRate: 0.25,
      items: [...items(40, 'w'), ...items(20, 'g', 'positive')],
    });
    const labeler = await registerDevice(app);
    const asks = [1, 3, 2, 1, 4, 2, 3, 1, 2, 4, 1, 3, 2, 4, 1, 2, 3, 1, 4, 2];
    for (const max of asks) {
      await leaseTasks(labeler, max);
      // Answered or not, leases count toward the cap: let them run out so the next ask has room.
      await database().query(`update task_assignments set state = 'skipped' where device = $1`, [labeler.address]);
    }
    const shown = await database().query<{ gold: boolean }>(
      `select i.gold_answer is not null as gold from task_assignments t join project_items i on i.id = t.item_id
        where t.project_id = $1 and t.device = $2 order by t.id`,
      [projectId, labeler.address],
    );
    expect(shown.length).toBeGreaterThanOrEqual(40);
    let gold = 0;
    shown.forEach((task, n) => {
      if (task.gold) gold += 1;
      expect(Math.abs(gold - 0.25 * (n + 1)), `after ${n + 1} tasks`).toBeLessThanOrEqual(1);
    });
  });
});
