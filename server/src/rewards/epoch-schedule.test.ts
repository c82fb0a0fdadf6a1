import { randomBytes } from 'node:crypto';
import { privateKeyToAddress } from 'viem/accounts';
import { expect, it } from 'vitest';
import { buildTestApp } from '../test/app';
import { describeEachDatabase } from '../test/databases';

const newAddress = () => privateKeyToAddress(`0x${randomBytes(32).toString('hex')}`);

describeEachDatabase('epoch schedule', (database) => {
  it('closes epochs on its own when a schedule is set, and stops with the app', async () => {
    const db = database();
    const device = newAddress();
    await db.query(`insert into devices (address, extension_version, browser) values ($1, '1.0.0', 'chrome')`, [
      device,
    ]);
    await db.query('insert into wallet_links (device, wallet) values ($1, $2)', [device, newAddress()]);
    await db.query(
      `insert into points_ledger (device, reference, reason, points, state, settled_at) values ($1, $2, 'scrape', 5, 'verified', now())`,
      [device, `page:${randomBytes(8).toString('hex')}`],
    );
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
    const device = newAddress();
    await db.query(`insert into devices (address, extension_version, browser) values ($1, '1.0.0', 'chrome')`, [
      device,
    ]);
    await db.query('insert into wallet_links (device, wallet) values ($1, $2)', [device, newAddress()]);
    await db.query(
      `insert into points_ledger (device, reference, reason, points, state, settled_at) values ($1, $2, 'scrape', 5, 'verified', now())`,
      [device, `page:${randomBytes(8).toString('hex')}`],
    );
    const app = await buildTestApp(db, {}, { rewards: { poolPerEpoch: 100n, tokenDecimals: 18, closeEveryMs: null } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const count = await db.query<{ n: number }>('select count(*)::int as n from epochs');
    await app.close();
    // Only the first test's scheduled epoch: these new points wait for the operator.
    expect(count[0]?.n).toBe(1);
  });
});
