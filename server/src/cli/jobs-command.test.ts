import { workItemListSchema } from '@protocol/work-queue';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { enqueue } from '../queue/work-queue';
import { buildTestApp, testOperatorToken } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { runCli } from './run-cli';

describeEachDatabase('operator view of the work queue (admin API and CLI)', (database) => {
  let app: FastifyInstance;
  let serverUrl: string;
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    // No worker runs here: the items stay as the test puts them.
    app = await buildTestApp(database(), {}, { work: { concurrency: 0 } });
    serverUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    await database().transaction(async (tx) => {
      await enqueue(tx, 'dataset_build', 'd-queued', { datasetId: 'd-queued' });
      await enqueue(tx, 'dataset_build', 'd-failed', null, { maxAttempts: 3 });
      await enqueue(tx, 'dataset_build', 'd-refailed', null, { maxAttempts: 3 });
      await enqueue(tx, 'epoch_close', 'e-done');
    });
    await database().query(
      `update work_items set state = 'failed', attempts = 3, finished_at = now(), locked_by = 'host:1:ab',
              last_error = 'disk full' || chr(10) || 'at write'
        where key in ('d-failed', 'd-refailed')`,
    );
    await database().query(
      `update work_items set state = 'done', attempts = 1, finished_at = now() where key = 'e-done'`,
    );
    // The same work as d-refailed was queued again since it failed.
    await database().transaction((tx) => enqueue(tx, 'dataset_build', 'd-refailed', null, { delayMs: 3_600_000 }));
    for (const row of await database().query<{ id: string; key: string; state: string }>(
      `select id::text as id, key, state from work_items`,
    )) {
      ids[`${row.key}:${row.state}`] = row.id;
    }
  });
  afterAll(async () => {
    await app.close();
  });

  const cli = async (args: string[]) => {
    let out = '';
    let err = '';
    const code = await runCli([...args, '--server', serverUrl], {
      env: { GLEANER_OPERATOR_TOKEN: testOperatorToken },
      out: (text) => {
        out += text;
      },
      err: (text) => {
        err += text;
      },
    });
    return { code, out, err };
  };
  const admin = { authorization: `Bearer ${testOperatorToken}` };

  it('lists work items newest first with counts by state, filtered by state and kind, for operators only', async () => {
    const all = await app.inject({ method: 'GET', url: '/v1/admin/jobs', headers: admin });
    expect(all.statusCode, all.body).toBe(200);
    const list = workItemListSchema.parse(all.json());
    expect(list.counts).toEqual({ queued: 2, running: 0, done: 1, failed: 2 });
    expect(list.items.map((item) => item.id)).toEqual(
      [...list.items.map((item) => item.id)].sort((a, b) => Number(b) - Number(a)),
    );

    const failed = workItemListSchema.parse(
      (
        await app.inject({ method: 'GET', url: '/v1/admin/jobs?state=failed&kind=dataset_build', headers: admin })
      ).json(),
    );
    expect(failed.items.map((item) => item.key).sort()).toEqual(['d-failed', 'd-refailed']);
    expect(failed.items[0]).toMatchObject({ attempts: 3, maxAttempts: 3, lockedBy: 'host:1:ab' });
    expect(failed.items[0]?.lastError).toMatch(/^disk full/);
    expect(failed.counts).toEqual({ queued: 2, running: 0, done: 0, failed: 2 });

    const queued = workItemListSchema.parse(
      (await app.inject({ method: 'GET', url: '/v1/admin/jobs?state=queued&limit=1', headers: admin })).json(),
    );
    expect(queued.items).toHaveLength(1);

    expect((await app.inject({ method: 'GET', url: '/v1/admin/jobs' })).statusCode).toBe(401);
    const bad = await app.inject({ method: 'GET', url: '/v1/admin/jobs?state=stuck', headers: admin });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/state/);
  });

  it('jobs prints the counts and each item with its last error; --json prints the list', async () => {
    const text = await cli(['jobs', '--state', 'failed']);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain('queued 2  running 0  done 1  failed 2');
    expect(text.out).toContain(`#${ids['d-failed:failed']}  failed   dataset_build d-failed  attempts 3/3  finished `);
    expect(text.out).toContain('last error: disk full\n');
    expect(text.out).not.toContain('e-done');

    const json = await cli(['jobs', '--kind', 'epoch_close', '--json']);
    expect(json.code).toBe(0);
    expect(workItemListSchema.parse(JSON.parse(json.out)).items.map((item) => item.key)).toEqual(['e-done']);

    const wrong = await cli(['jobs', '--state', 'stuck']);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/--state must be one of queued, running, done, failed/);
  });

  it('jobs retry queues a failed item again with fresh attempts, and refuses one that is not failed', async () => {
    const retried = await cli(['jobs', 'retry', ids['d-failed:failed'] ?? '']);
    expect(retried.code, retried.err).toBe(0);
    expect(retried.out).toMatch(/Re-queued item \d+ \(dataset_build d-failed\), due now, with 3 fresh attempts/);
    const row = await database().query<{ state: string; attempts: number; due: boolean; finished_at: Date | null }>(
      `select state, attempts, run_at <= now() as due, finished_at from work_items where key = 'd-failed'`,
    );
    expect(row).toEqual([{ state: 'queued', attempts: 0, due: true, finished_at: null }]);

    // Its work was queued again since it failed: that item is made due now, the failed one stays.
    const again = await cli(['jobs', 'retry', ids['d-refailed:failed'] ?? '', '--json']);
    expect(again.code, again.err).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ alreadyQueued: true, item: { id: ids['d-refailed:queued'] } });
    const refailed = await database().query<{ state: string; due: boolean }>(
      `select state, run_at <= now() as due from work_items where key = 'd-refailed' order by id`,
    );
    expect(refailed).toEqual([
      { state: 'failed', due: true },
      { state: 'queued', due: true },
    ]);

    const notFailed = await cli(['jobs', 'retry', ids['e-done:done'] ?? '']);
    expect(notFailed.code).toBe(1);
    expect(notFailed.err).toMatch(/is done, not failed: only a failed item can be retried/);
    const missing = await cli(['jobs', 'retry', '999999']);
    expect(missing.err).toMatch(/No work item 999999/);
    expect((await cli(['jobs', 'retry'])).err).toMatch(/jobs retry needs the ITEM_ID/);
  });
});
