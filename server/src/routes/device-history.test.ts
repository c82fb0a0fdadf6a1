import { randomUUID } from 'node:crypto';
import type { LeasedTask } from '@protocol/labeling';
import { devicePointsByDaySchema } from '@protocol/points';
import type { FastifyInstance } from 'fastify';
import type { LocalAccount } from 'viem/accounts';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../db/database';
import { buildTestApp, signedInject } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { createBuyerKey, registerDevice, upload } from '../test/scrape-fixtures';

const dayMs = 86_400_000;
const hourMs = 3_600_000;

/** The date of an instant in a time zone, as the extension names its local days (YYYY-MM-DD). */
const localDate = (at: number, timeZone: string) =>
  new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);

describeEachDatabase('a device’s points and labels per day', (database) => {
  let app: FastifyInstance;
  let db: Database;
  let device: LocalAccount;
  let other: LocalAccount;
  const now = Date.now();

  const history = async (account: LocalAccount, query: string) => {
    const response = await signedInject(app, account, { method: 'GET', url: `/v1/devices/me/points-by-day${query}` });
    return response;
  };
  const ledgerRow = async (owner: LocalAccount, at: number, state: string, points: number, reverses?: string) => {
    const rows = await db.query<{ id: string }>(
      `insert into points_ledger (device, reference, reason, points, state, created_at, reverses)
       values ($1, $2, $3, $4, $5, $6, $7) returning id::text as id`,
      [
        owner.address,
        `test:${randomUUID()}`,
        reverses ? 'reversal' : 'scrape',
        points,
        state,
        new Date(at),
        reverses ?? null,
      ],
    );
    return rows[0]?.id ?? '';
  };

  beforeAll(async () => {
    db = database();
    app = await buildTestApp(db);
    device = await registerDevice(app);
    other = await registerDevice(app);
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers every one of the last 30 days of the person’s zone with zeros for a new device', async () => {
    const response = await history(device, '?days=30&timeZone=Pacific%2FKiritimati');
    expect(response.statusCode, response.body).toBe(200);
    const body = devicePointsByDaySchema.parse(response.json());
    expect(body.timeZone).toBe('Pacific/Kiritimati');
    expect(body.days).toHaveLength(30);
    // Kiritimati is UTC+14: its today is often already tomorrow in UTC. Compared at the request's end, so a
    // midnight passing during the request cannot make the test disagree with the server.
    expect([localDate(now, 'Pacific/Kiritimati'), localDate(Date.now(), 'Pacific/Kiritimati')]).toContain(
      body.days.at(-1)?.day,
    );
    const dates = body.days.map((row) => Date.parse(`${row.day}T00:00:00Z`));
    expect(dates.slice(1).map((date, i) => date - (dates[i] ?? 0))).toEqual(Array(29).fill(dayMs));
    expect(body.days.every((row) => row.verified + row.pending + row.rejected + row.labels === 0)).toBe(true);
  });

  it('puts each ledger row on the person’s local day, reversed work as rejected, and nothing of other devices', async () => {
    await ledgerRow(device, now - hourMs, 'verified', 100);
    await ledgerRow(device, now - 2 * dayMs, 'pending', 100);
    await ledgerRow(device, now - 2 * dayMs - hourMs, 'pending', 40);
    await ledgerRow(device, now - 3 * dayMs, 'rejected', 100);
    const reversed = await ledgerRow(device, now - 5 * dayMs, 'verified', 100);
    await ledgerRow(device, now - hourMs, 'verified', -100, reversed);
    await ledgerRow(device, now - 40 * dayMs, 'verified', 100);
    await ledgerRow(other, now - hourMs, 'verified', 700);

    for (const timeZone of ['Pacific/Kiritimati', 'Pacific/Pago_Pago']) {
      const body = devicePointsByDaySchema.parse(
        (await history(device, `?timeZone=${encodeURIComponent(timeZone)}`)).json(),
      );
      expect(body.days).toHaveLength(30);
      const byDay = new Map(body.days.map((row) => [row.day, row]));
      const expected = new Map<string, { verified: number; pending: number; rejected: number }>();
      const add = (at: number, state: 'verified' | 'pending' | 'rejected', points: number) => {
        const day = expected.get(localDate(at, timeZone)) ?? { verified: 0, pending: 0, rejected: 0 };
        day[state] += points;
        expected.set(localDate(at, timeZone), day);
      };
      add(now - hourMs, 'verified', 100);
      add(now - 2 * dayMs, 'pending', 100);
      add(now - 2 * dayMs - hourMs, 'pending', 40);
      add(now - 3 * dayMs, 'rejected', 100);
      add(now - 5 * dayMs, 'rejected', 100);
      for (const [day, sums] of expected) expect(byDay.get(day), `${timeZone} ${day}`).toMatchObject(sums);
      const total = body.days.reduce((sum, row) => sum + row.verified + row.pending + row.rejected, 0);
      expect(total).toBe(440);
    }
    // The zones are 25 hours apart: the same row is on different dates in each, as the person would see it.
    expect(localDate(now - 5 * dayMs, 'Pacific/Kiritimati')).not.toBe(localDate(now - 5 * dayMs, 'Pacific/Pago_Pago'));
  });

  it('counts the labels the device gave, on the day it gave them', async () => {
    const apiKey = await createBuyerKey(app);
    const created = await app.inject({
      method: 'POST',
      url: '/v1/projects',
      headers: { authorization: `Bearer ${apiKey}` },
      payload: {
        name: 'history',
        instructions: 'Label the sentiment.',
        labelSchema: { type: 'single_choice', choices: ['positive', 'negative'] },
        items: ['a', 'b', 'c'].map((id) => ({ id, content: { type: 'text', text: `Item ${id}` } })),
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    const leased = await signedInject(app, device, { method: 'POST', url: '/v1/tasks/lease', body: { max: 3 } });
    const tasks = (leased.json() as { tasks: LeasedTask[] }).tasks;
    expect(tasks.length).toBeGreaterThanOrEqual(2);
    const answers = await upload(
      app,
      device,
      tasks.slice(0, 2).map((task) => ({
        kind: 'label',
        assignmentId: task.assignmentId,
        labeledAt: new Date().toISOString(),
        answer: { type: 'single_choice', choice: 'positive' },
      })),
    );
    expect(answers.acks.map((ack) => ack.status)).toEqual(['accepted', 'accepted']);
    // One of the two was given four days ago (as if uploaded late from an offline browser).
    const fourDaysAgo = Date.now() - 4 * dayMs;
    await db.query(`update labels set labeled_at = $2 where id = (select min(id) from labels where device = $1)`, [
      device.address,
      new Date(fourDaysAgo),
    ]);

    const body = devicePointsByDaySchema.parse((await history(device, '?days=7&timeZone=UTC')).json());
    expect(body.days).toHaveLength(7);
    const labels = Object.fromEntries(body.days.filter((row) => row.labels > 0).map((row) => [row.day, row.labels]));
    const today = localDate(Date.now(), 'UTC');
    const earlier = localDate(fourDaysAgo, 'UTC');
    expect(labels).toEqual({ [today]: 1, [earlier]: 1 });
    const otherBody = devicePointsByDaySchema.parse((await history(other, '?days=7&timeZone=UTC')).json());
    expect(otherBody.days.reduce((sum, row) => sum + row.labels, 0)).toBe(0);
  });

  it('refuses an unknown time zone, a bad day count and an unsigned request in words', async () => {
    const unknown = await history(device, '?timeZone=Mars%2FOlympus_Mons');
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/Mars\/Olympus_Mons/) });
    const injected = await history(device, `?timeZone=${encodeURIComponent('UTC;select 1')}`);
    expect(injected.statusCode).toBe(400);
    expect(injected.json().code).toBe('bad_request');
    for (const days of ['0', '91', 'lots']) {
      const response = await history(device, `?days=${days}`);
      expect(response.statusCode, days).toBe(400);
      expect(response.json().code).toBe('bad_request');
    }
    const unsigned = await app.inject({ method: 'GET', url: '/v1/devices/me/points-by-day' });
    expect(unsigned.statusCode).toBe(401);
  });
});
