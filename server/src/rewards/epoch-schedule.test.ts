import { expect, it } from 'vitest';
import { buildTestApp, testOperatorToken } from '../test/app';
import { describeEachDatabase } from '../test/databases';
import { addDevice, creditPoints, newAddress } from './test-ledger';

const operator = { authorization: `Bearer ${testOperatorToken}` };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeEachDatabase('epoch schedule', (database) => {
  it('closes epochs on its own when a schedule is set, and stops with the app', async () => {
    const db = database();
    await creditPoints(db, await addDevice(db, newAddress()), 5);
    const app = await buildTestApp(db, {}, { rewards: { poolPerEpoch: 100n, tokenDecimals: 18, closeEveryMs: 50 } });
    let epochs: unknown[] = [];
    try {
      for (let attempt = 0; attempt < 200 && epochs.length === 0; attempt += 1) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        epochs = (await app.inject({ method: 'GET', url: '/v1/epochs' })).json().epochs;
      }
    } finally {
      await app.close();
    }
    expect(epochs).toMatchObject([{ epoch: 1, pointsTotal: 5 }]);
  });

  it('closes nothing when no schedule is set', async () => {
    const db = database();
    await creditPoints(db, await addDevice(db, newAddress()), 5);
    const app = await buildTestApp(db, {}, { rewards: { poolPerEpoch: 100n, tokenDecimals: 18, closeEveryMs: null } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const count = await db.query<{ n: number }>('select count(*)::int as n from epochs');
    await app.close();
    // Only the first test's scheduled epoch: these new points wait for the operator.
    expect(count[0]?.n).toBe(1);
  });

  /** A linked device with `points` newly verified. */
  async function verifiedPoints(db: ReturnType<typeof database>, points: number): Promise<void> {
    await creditPoints(db, await addDevice(db, newAddress()), points);
  }

  const epochsOf = async (db: ReturnType<typeof database>) =>
    db.query<{ number: number; closed_at: Date }>(
      'select number::int as number, closed_at from epochs order by number',
    );

  it('waits a whole period after a close made elsewhere (the operator, or the schedule of another process)', async () => {
    const db = database();
    const every = 1500;
    const app = await buildTestApp(db, {}, { rewards: { poolPerEpoch: 100n, tokenDecimals: 18, closeEveryMs: every } });
    try {
      // What the first points of the old period close into (the close every process agrees on).
      await verifiedPoints(db, 3);
      const manual = await app.inject({
        method: 'POST',
        url: '/v1/admin/epochs/close',
        headers: operator,
        payload: {},
      });
      expect(manual.json().closed).toBe(true);
      // Verification goes on: a few seconds later one more row is verified. A schedule that did not see the close
      // above would pay it a whole pool on its own, in an epoch a fraction of a period long.
      await verifiedPoints(db, 1);
      const before = (await epochsOf(db)).length;
      let after = before;
      for (let attempt = 0; attempt < 200 && after === before; attempt += 1) {
        await sleep(25);
        after = (await epochsOf(db)).length;
      }
      const [previous, next] = (await epochsOf(db)).slice(before - 1);
      expect(next, 'the schedule closed the next epoch').toBeDefined();
      const gap = new Date(next?.closed_at ?? 0).getTime() - new Date(previous?.closed_at ?? 0).getTime();
      expect(gap).toBeGreaterThanOrEqual(every);
    } finally {
      await app.close();
    }
  });

  it('takes a period longer than a timer can wait (30 days) as it is, instead of closing at once', async () => {
    const db = database();
    await verifiedPoints(db, 2);
    const before = (await epochsOf(db)).length;
    // Node fires a setTimeout past 2^31-1 ms (about 24.8 days) after 1 ms: a monthly schedule closed continuously.
    const app = await buildTestApp(
      db,
      {},
      { rewards: { poolPerEpoch: 100n, tokenDecimals: 18, closeEveryMs: 30 * 24 * 3_600_000 } },
    );
    try {
      await sleep(400);
      expect((await epochsOf(db)).length).toBe(before);
    } finally {
      await app.close();
    }
  });
});
