import { createHash } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { type EpochFile, epochFileSchema } from '@protocol/epochs';
import { CID } from 'multiformats/cid';
import { create as createDigest } from 'multiformats/hashes/digest';
import { type Address, getAddress } from 'viem';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DatasetStorage } from '../datasets/storage/dataset-storage';
import { temporaryDatasetSettings } from '../datasets/temporary-dataset-settings';
import type { Database } from '../db/database';
import { describeEachDatabase } from '../test/databases';
import { epochStorageKeys } from './epoch-file';
import { closeEpoch, estimateNextEpoch } from './epoch-service';
import { buildEpochTree } from './epoch-tree';
import { reverseCredits } from './reversals';
import type { RewardSettings } from './reward-settings';
import { addDevice, creditPoints, linkWallet, newAddress } from './test-ledger';

const rewards: RewardSettings = { poolPerEpoch: 1000n, tokenDecimals: 18, closeEveryMs: null };

describeEachDatabase('reward epochs', (database, kind) => {
  let storage: DatasetStorage;
  let db: Database;
  beforeAll(async () => {
    storage = (await temporaryDatasetSettings()).storage;
    db = database();
  });
  afterAll(async () => {
    await storage.close();
  });

  const device = (wallet?: string) => addDevice(db, wallet);
  const link = (deviceAddress: string, wallet: string) => linkWallet(db, deviceAddress, wallet);

  const credit = (deviceAddress: string, points: number, state?: string) =>
    creditPoints(db, deviceAddress, points, state);

  /** Closes whatever earlier tests left to count, so each test starts from a settled ledger. */
  async function settle(): Promise<number> {
    for (;;) {
      const result = await closeEpoch(db, storage, rewards);
      if (!result.closed)
        return (await db.query<{ n: number }>('select coalesce(max(number), 0)::int as n from epochs'))[0]?.n ?? 0;
    }
  }

  async function closeNext() {
    const result = await closeEpoch(db, storage, rewards);
    expect(result.closed, result.reason).toBe(true);
    if (!result.epoch) throw new Error('closed without an epoch');
    return result.epoch;
  }

  async function readFile(epoch: number): Promise<{ bytes: Buffer; file: EpochFile }> {
    const bytes = Buffer.from(await text(await storage.read(epochStorageKeys(epoch).file)));
    return { bytes, file: epochFileSchema.parse(JSON.parse(bytes.toString())) };
  }

  const lineOf = (file: EpochFile, wallet: string) =>
    file.wallets.find((line) => line.address.toLowerCase() === wallet.toLowerCase());

  it('makes no epoch when nothing was verified for a linked device', async () => {
    await settle();
    const unlinked = await device();
    await credit(unlinked, 50);
    const linked = await device(newAddress());
    await credit(linked, 10, 'pending');
    const result = await closeEpoch(db, storage, rewards);
    expect(result).toMatchObject({ closed: false, epoch: null });
    expect(result.reason).toMatch(/nothing to close/);
  });

  it('closes once: a second close, or closing the same number, returns the epoch and makes no other', async () => {
    await settle();
    const wallet = newAddress();
    await credit(await device(wallet), 30);
    const epoch = await closeNext();
    const again = await closeEpoch(db, storage, rewards, { epoch: epoch.epoch });
    expect(again).toMatchObject({ closed: false, reason: `epoch ${epoch.epoch} was closed before`, epoch });
    expect(await closeEpoch(db, storage, rewards)).toMatchObject({ closed: false, epoch: null });
    await expect(closeEpoch(db, storage, rewards, { epoch: epoch.epoch + 5 })).rejects.toMatchObject({
      code: 'conflict',
    });
    const rows = await db.query<{ n: number }>('select count(*)::int as n from epochs where number > $1', [
      epoch.epoch,
    ]);
    expect(rows[0]?.n).toBe(0);
  });

  it("pays an unlinked device's waiting points to the wallet it is linked to later, once", async () => {
    await settle();
    const waiting = await device();
    await credit(waiting, 40);
    const other = newAddress();
    await credit(await device(other), 60);
    const first = await closeNext();
    const firstFile = (await readFile(first.epoch)).file;
    expect(lineOf(firstFile, other)).toMatchObject({ earned: 60 });
    const wallet = newAddress();
    await link(waiting, wallet);
    expect(await estimateNextEpoch(db, rewards, wallet)).toMatchObject({
      epoch: first.epoch + 1,
      points: 40,
      pointsTotal: 40,
      estimatedAmount: (1000n + BigInt(firstFile.carriedOut)).toString(),
    });
    const second = await closeNext();
    const { file } = await readFile(second.epoch);
    expect(lineOf(file, wallet)).toMatchObject({ earned: 40, points: 40 });
    // Paid before, nothing new: still in the tree with the same cumulative.
    expect(lineOf(file, other)).toMatchObject({
      earned: 0,
      amount: '0',
      cumulative: lineOf(firstFile, other)?.cumulative,
    });
  });

  it('deducts a late reversal from the next epoch, never below zero, and carries what is left as debt', async () => {
    await settle();
    const wallet = newAddress();
    const worker = await device(wallet);
    const paid = await credit(worker, 50);
    await credit(await device(newAddress()), 50);
    const first = await closeNext();
    const paidLine = lineOf((await readFile(first.epoch)).file, wallet);
    expect(paidLine).toMatchObject({ points: 50, amount: '500' });

    expect(await reverseCredits(db, [paid, paid, 'page:nope'], 'late audit failed')).toEqual({
      reversed: [paid],
      skipped: [{ reference: 'page:nope', reason: 'no ledger row has this reference' }],
    });
    expect((await reverseCredits(db, [paid, `reversal:${paid}`], 'again')).reversed).toEqual([]);
    // The device moved to another wallet since: the reversal still goes to the wallet that was paid.
    await link(worker, newAddress());
    await credit(await device(wallet), 20);
    const second = await closeNext();
    const secondLine = lineOf((await readFile(second.epoch)).file, wallet);
    expect(secondLine).toMatchObject({ earned: 20, reversed: 50, debtIn: 0, points: 0, debtOut: 30, amount: '0' });
    expect(secondLine?.cumulative).toBe(paidLine?.cumulative);

    await credit(await device(wallet), 45);
    const third = await closeNext();
    expect(lineOf((await readFile(third.epoch)).file, wallet)).toMatchObject({
      earned: 45,
      reversed: 0,
      debtIn: 30,
      points: 15,
      debtOut: 0,
    });
  });

  it("stores a file whose root is the library's over its wallets, under an independently computed content id", async () => {
    await settle();
    const wallets = [newAddress(), newAddress(), newAddress()];
    for (const [index, wallet] of wallets.entries()) await credit(await device(wallet), index + 1);
    const epoch = await closeNext();
    const { bytes, file } = await readFile(epoch.epoch);
    expect(bytes.length).toBe(epoch.fileBytes);
    expect(bytes.toString().endsWith('}\n')).toBe(true);
    expect(file.root).toBe(epoch.root);
    const sorted = file.wallets.map((line) => line.address.toLowerCase());
    expect(sorted).toEqual([...sorted].sort());
    const entries = file.wallets.map((line) => ({ account: line.address as Address, amount: BigInt(line.cumulative) }));
    expect(buildEpochTree(entries).root).toBe(file.root);
    const library = StandardMerkleTree.of(
      file.wallets.map((line) => [line.address, line.cumulative]),
      ['address', 'uint256'],
    );
    expect(library.root).toBe(file.root);
    const digest = createDigest(0x12, createHash('sha256').update(bytes).digest());
    const cid = CID.parse(epoch.contentId);
    expect(cid.version).toBe(1);
    expect(cid.code).toBe(0x55);
    expect(cid.equals(CID.createV1(0x55, digest))).toBe(true);
    expect(epoch.fileSha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    // The stored tree holds the same nodes: its first 32 bytes are the root.
    const root = await storage.readBytes(epochStorageKeys(epoch.epoch).tree, 0, 32);
    expect(`0x${Buffer.from(root).toString('hex')}`).toBe(file.root);
    expect(file.wallets.every((line) => line.address === getAddress(line.address))).toBe(true);
  });

  it.skipIf(kind === 'pglite')(
    'counts points verified while a close runs in the next epoch, exactly once',
    async () => {
      await settle();
      const wallet = newAddress();
      const worker = await device(wallet);
      await credit(worker, 10);
      const late = [await credit(worker, 7, 'pending'), await credit(worker, 8, 'pending')];
      let release = () => {};
      let verified = () => {};
      const holding = new Promise<void>((resolve) => {
        release = resolve;
      });
      const rowsVerified = new Promise<void>((resolve) => {
        verified = resolve;
      });
      // Another connection verifies the rows and holds its transaction open across the close.
      const verification = db.transaction(async (tx) => {
        await tx.query(
          `update points_ledger set state = 'verified', settled_at = now() where reference = any($1::text[])`,
          [late],
        );
        verified();
        await holding;
      });
      await rowsVerified;
      const during = await closeNext();
      release();
      await verification;
      const after = await closeNext();
      expect(lineOf((await readFile(during.epoch)).file, wallet)).toMatchObject({ earned: 10 });
      expect(lineOf((await readFile(after.epoch)).file, wallet)).toMatchObject({ earned: 15 });
      const counted = await db.query<{ epoch: number }>(
        `select c.epoch::int as epoch from epoch_credits c join points_ledger l on l.id = c.ledger_id
         where l.reference = any($1::text[])`,
        [late],
      );
      expect(counted).toEqual([{ epoch: after.epoch }, { epoch: after.epoch }]);
    },
  );

  it.skipIf(kind === 'pglite')('lets only one of two simultaneous closes make the epoch', async () => {
    await settle();
    await credit(await device(newAddress()), 5);
    const results = await Promise.all([closeEpoch(db, storage, rewards), closeEpoch(db, storage, rewards)]);
    expect(results.filter((result) => result.closed)).toHaveLength(1);
  });
});
