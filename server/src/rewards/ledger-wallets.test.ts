import type { Address } from 'viem';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DatasetStorage } from '../datasets/storage/dataset-storage';
import { temporaryDatasetSettings } from '../datasets/temporary-dataset-settings';
import type { Database } from '../db/database';
import { describeEachDatabase } from '../test/databases';
import { closeEpoch } from './epoch-service';
import { uncountedVerifiedRows, walletLedgerRows, walletSpellings } from './ledger-wallets';
import { reverseCredits } from './reversals';
import type { RewardSettings } from './reward-settings';
import { addDevice, creditPoints, linkWallet, newAddress } from './test-ledger';

const rewards: RewardSettings = { poolPerEpoch: 1000n, tokenDecimals: 18, closeEveryMs: null };

describeEachDatabase('which wallet a ledger row belongs to', (database) => {
  let storage: DatasetStorage;
  let db: Database;
  beforeAll(async () => {
    storage = (await temporaryDatasetSettings()).storage;
    db = database();
  });
  afterAll(async () => {
    await storage.close();
  });

  const device = () => addDevice(db);
  const link = (deviceAddress: string, wallet: string) => linkWallet(db, deviceAddress, wallet);

  async function unlink(deviceAddress: string): Promise<void> {
    await db.query('update wallet_links set unlinked_at = now() where device = $1 and unlinked_at is null', [
      deviceAddress,
    ]);
  }

  const credit = (deviceAddress: string, points: number, state?: string) =>
    creditPoints(db, deviceAddress, points, state);

  async function reverse(reference: string): Promise<string> {
    const result = await reverseCredits(db, [reference], 'late failed audit');
    expect(result.skipped).toEqual([]);
    return `reversal:${reference}`;
  }

  /** The close's form: every uncounted verified row with a wallet, as reference → wallet. */
  async function closeForm(): Promise<Map<string, string>> {
    const rows = await db.query<{ reference: string; wallet: string }>(
      `select l.reference, rows.wallet from (${uncountedVerifiedRows}) rows join points_ledger l on l.id = rows.id`,
    );
    const byReference = new Map<string, string>();
    for (const row of rows) {
      expect(byReference.has(row.reference), `${row.reference} is counted twice`).toBe(false);
      byReference.set(row.reference, row.wallet);
    }
    return byReference;
  }

  /** The dashboard's form for one wallet: its rows (any state), with the epoch that paid each. */
  async function dashboardForm(wallet: Address) {
    return db.query<{ reference: string; state: string; epoch: string | number | null }>(
      `select l.reference, l.state, w.epoch from (${walletLedgerRows}) w join points_ledger l on l.id = w.id`,
      walletSpellings(wallet),
    );
  }

  const uncountedVerified = (rows: Awaited<ReturnType<typeof dashboardForm>>) =>
    rows
      .filter((row) => row.epoch === null && row.state === 'verified')
      .map((row) => row.reference)
      .sort();

  it('gives the dashboard exactly the rows the close would pay each wallet, and every such row one wallet', async () => {
    const first = newAddress();
    const second = newAddress();
    const idle = newAddress();

    // Moves from the first wallet to the second after its first rows are paid.
    const mover = await device();
    await link(mover, first);
    const moverPaid = await credit(mover, 50);
    const moverPaidKept = await credit(mover, 20);
    // Linked with the lower-case spelling: the close lowers it, the dashboard must still find it.
    const steady = await device();
    await link(steady, first.toLowerCase());
    const steadyPaid = await credit(steady, 30);
    // Paid to the second wallet, then unlinked for good.
    const leaver = await device();
    await link(leaver, second);
    const leaverPaid = await credit(leaver, 40);
    const leaverLater = await credit(leaver, 5);
    const never = await device();
    const neverRow = await credit(never, 7);

    const epoch = await closeEpoch(db, storage, rewards);
    expect(epoch.closed, epoch.reason).toBe(true);
    const paidEpoch = epoch.epoch?.epoch;
    // leaverLater was counted too; rows added below are what stays uncounted.
    await unlink(mover);
    const moverWhileUnlinked = await credit(mover, 3);
    await link(mover, second);
    const moverUnpaid = await credit(mover, 11);
    const moverPending = await credit(mover, 13, 'pending');
    const moverRejected = await credit(mover, 17, 'rejected');
    const steadyUnpaid = await credit(steady, 19);
    await unlink(leaver);
    const leaverUnlinkedRow = await credit(leaver, 23);
    const neverUnpaid = await credit(never, 29);

    const moverPaidReversal = await reverse(moverPaid);
    const moverUnpaidReversal = await reverse(moverUnpaid);
    const leaverPaidReversal = await reverse(leaverPaid);
    const neverReversal = await reverse(neverRow);
    const steadyUnpaidReversal = await reverse(steadyUnpaid);

    const close = await closeForm();
    // The rule, spelled out: a paid original's reversal stays with the wallet paid, wherever the device went;
    // other rows follow the device's open link; rows of devices with none wait.
    expect(Object.fromEntries(close)).toEqual({
      [moverPaidReversal]: first.toLowerCase(),
      [moverWhileUnlinked]: second.toLowerCase(),
      [moverUnpaid]: second.toLowerCase(),
      [moverUnpaidReversal]: second.toLowerCase(),
      [steadyUnpaid]: first.toLowerCase(),
      [steadyUnpaidReversal]: first.toLowerCase(),
      [leaverPaidReversal]: second.toLowerCase(),
    });

    const owners = new Map<string, string[]>();
    for (const wallet of [first, second, idle]) {
      const rows = await dashboardForm(wallet);
      const fromClose = [...close]
        .filter(([, owner]) => owner === wallet.toLowerCase())
        .map(([reference]) => reference);
      expect(uncountedVerified(rows), `uncounted verified rows of ${wallet}`).toEqual(fromClose.sort());
      for (const row of rows) owners.set(row.reference, [...(owners.get(row.reference) ?? []), wallet]);
    }
    // The rows a wallet was paid stay its own, whatever its devices did since.
    expect(
      (await dashboardForm(first)).filter((row) => row.epoch !== null).map((row) => [row.reference, Number(row.epoch)]),
    ).toEqual(
      expect.arrayContaining([
        [moverPaid, paidEpoch],
        [moverPaidKept, paidEpoch],
        [steadyPaid, paidEpoch],
      ]),
    );
    expect(owners.get(leaverLater)).toEqual([second]);
    // Unpaid rows of other states go with the device too; they are shown, not paid.
    expect(owners.get(moverPending)).toEqual([second]);
    expect(owners.get(moverRejected)).toEqual([second]);

    // Every uncounted verified row of a linked device (or reversing a paid row) has exactly one wallet; rows
    // of devices with no open link have none.
    const uncountedRows = await db.query<{ reference: string; has_wallet: boolean }>(
      `select l.reference,
              exists (select 1 from wallet_links w where w.device = l.device and w.unlinked_at is null)
              or exists (select 1 from epoch_credits o where o.ledger_id = l.reverses) as has_wallet
         from points_ledger l
        where l.state = 'verified' and not exists (select 1 from epoch_credits c where c.ledger_id = l.id)`,
    );
    expect(uncountedRows.length).toBeGreaterThanOrEqual(10);
    for (const row of uncountedRows) {
      expect(owners.get(row.reference)?.length ?? 0, row.reference).toBe(row.has_wallet ? 1 : 0);
    }
    for (const waiting of [leaverUnlinkedRow, neverUnpaid, neverReversal]) expect(owners.has(waiting)).toBe(false);

    // The close then credits exactly the rows the form listed, each to the wallet it named.
    const next = await closeEpoch(db, storage, rewards);
    expect(next.closed, next.reason).toBe(true);
    const credited = await db.query<{ reference: string; wallet: string }>(
      `select l.reference, c.wallet from epoch_credits c join points_ledger l on l.id = c.ledger_id where c.epoch = $1`,
      [next.epoch?.epoch],
    );
    expect(Object.fromEntries(credited.map((row) => [row.reference, row.wallet]))).toEqual(Object.fromEntries(close));
    expect(uncountedVerified(await dashboardForm(first))).toEqual([]);
    expect(uncountedVerified(await dashboardForm(second))).toEqual([]);
  });

  it("reads one wallet's rows through its links and credits, not by scanning the ledger", async () => {
    // A ledger like a live one: hundreds of wallets, thousands of rows, most paid, some reversed, some new,
    // with fresh statistics, so the planner picks the plan it would in production.
    await db.query(
      `insert into devices (address, extension_version, browser)
       select '0x' || lpad(to_hex(g), 40, '0'), '1.0.0', 'chrome' from generate_series(1, 300) g`,
    );
    await db.query(
      `insert into wallet_links (device, wallet)
       select '0x' || lpad(to_hex(g), 40, '0'), '0xe' || lpad(to_hex(g), 39, '0') from generate_series(1, 300) g`,
    );
    const bulkRows = (tag: string) =>
      db.query(
        `insert into points_ledger (device, reference, reason, points, state, settled_at)
         select '0x' || lpad(to_hex(g), 40, '0'), '${tag}:' || g || ':' || n, 'scrape', 10, 'verified', now()
           from generate_series(1, 300) g cross join generate_series(1, 15) n`,
      );
    await bulkRows('paid');
    const epoch = await closeEpoch(db, storage, rewards);
    expect(epoch.closed, epoch.reason).toBe(true);
    await bulkRows('new');
    await db.query(
      `insert into points_ledger (device, reference, reason, points, state, reverses, settled_at)
       select device, 'reversal:' || reference, 'reversal', -points, 'verified', id, now()
         from points_ledger where reference like 'paid:%' and id % 7 = 0`,
    );
    await db.query('analyze');
    const wallet = `0xe${'7'.padStart(39, '0')}` as Address;
    expect((await dashboardForm(wallet)).length).toBeGreaterThan(15);

    // Nested loops only: a form that can reach the wallet's rows by key then reads nothing else; a form
    // that filters by the wallet after working it out for every row has to walk the ledger to do so.
    const rows = await db.transaction(async (tx) => {
      await tx.query('set local enable_hashjoin = off');
      await tx.query('set local enable_mergejoin = off');
      return tx.query<{ 'QUERY PLAN': unknown }>(`explain (format json) ${walletLedgerRows}`, walletSpellings(wallet));
    });
    const plan = rows[0]?.['QUERY PLAN'];
    const ledgerScans: Record<string, unknown>[] = [];
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(visit);
      else if (node && typeof node === 'object') {
        const record = node as Record<string, unknown>;
        if (record['Relation Name'] === 'points_ledger') ledgerScans.push(record);
        Object.values(record).forEach(visit);
      }
    };
    visit(typeof plan === 'string' ? JSON.parse(plan) : plan);
    expect(ledgerScans.length).toBeGreaterThan(0);
    // Each ledger read is a lookup by a key the wallet's links or credits give: a device, a reversed row.
    for (const scan of ledgerScans) {
      const condition = String(scan['Index Cond'] ?? scan['Recheck Cond'] ?? '');
      expect(condition, JSON.stringify(scan)).toMatch(/\((?:\w+\.)?(?:device|reverses|id) = /);
    }
  });
});
