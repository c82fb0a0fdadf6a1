import { createHash } from 'node:crypto';
import { type CloseEpochResult, type EpochSummary, rewardRulesVersion } from '@protocol/epochs';
import { BaseError } from '@protocol/errors';
import type { Hex } from 'viem';
import type { DatasetStorage } from '../datasets/storage/dataset-storage';
import type { Database, Queryable } from '../db/database';
import { contentIdOf } from './content-id';
import {
  buildEpochFile,
  epochFileBytes,
  epochStorageKeys,
  epochTreeEntries,
  type PreviousEpochLink,
} from './epoch-file';
import { applyEpochRules, type CountedPoints, type EpochRulesResult, type PreviousStanding } from './epoch-rules';
import { buildEpochTree, proofNodeIndexes } from './epoch-tree';
import { uncountedVerifiedRows } from './ledger-wallets';
import type { RewardSettings } from './reward-settings';

/** Advisory lock closes take: two processes (or a schedule and the operator) never close at once. */
const epochCloseLock = 4_211_977_305_016_113n;

/** Sums per wallet of a set of counted rows (`rows` is a query giving `wallet` and `points`). */
function countedByWallet(rows: string): string {
  return `
    select wallet,
           coalesce(sum(points) filter (where points > 0), 0)::float8 as earned,
           coalesce(-sum(points) filter (where points < 0), 0)::float8 as reversed
    from (${rows}) counted group by wallet`;
}

interface EpochRow {
  number: number;
  closed_at: Date | string;
  rules_version: string;
  pool: string;
  carried_in: string;
  carried_out: string;
  points_total: number;
  wallets: number;
  root: string;
  content_id: string;
  file_sha256: string;
  file_bytes: number;
  published_tx: string | null;
  published_at: Date | string | null;
}

const epochColumns = `number::int as number, closed_at, rules_version, pool::text as pool, carried_in::text as carried_in,
  carried_out::text as carried_out, points_total::float8 as points_total, wallets, root, content_id, file_sha256,
  file_bytes::float8 as file_bytes, published_tx, published_at`;

function toSummary(row: EpochRow, fileUrl: string): EpochSummary {
  return {
    epoch: row.number,
    closedAt: new Date(row.closed_at).toISOString(),
    rulesVersion: row.rules_version,
    pool: row.pool,
    carriedIn: row.carried_in,
    carriedOut: row.carried_out,
    pointsTotal: row.points_total,
    wallets: row.wallets,
    root: row.root,
    contentId: row.content_id,
    fileSha256: row.file_sha256,
    fileBytes: row.file_bytes,
    fileUrl,
    publishedTx: row.published_tx,
    publishedAt: row.published_at === null ? null : new Date(row.published_at).toISOString(),
  };
}

/** The path (under the server's origin) of an epoch's public file. */
export function epochFilePath(epoch: number): string {
  return `/v1/epochs/${epoch}/file`;
}

async function readCounted(db: Queryable, query: string, params: unknown[]): Promise<Map<string, CountedPoints>> {
  const rows = await db.query<{ wallet: string; earned: number; reversed: number }>(query, params);
  return new Map(rows.map((row) => [row.wallet, { earned: Number(row.earned), reversed: Number(row.reversed) }]));
}

async function readPrevious(db: Queryable, epoch: number | null): Promise<Map<string, PreviousStanding>> {
  if (epoch === null) return new Map();
  const rows = await db.query<{ wallet: string; cumulative: string; debt_out: number }>(
    'select wallet, cumulative::text as cumulative, debt_out::float8 as debt_out from epoch_wallets where epoch = $1',
    [epoch],
  );
  return new Map(
    rows.map((row) => [row.wallet, { cumulative: BigInt(row.cumulative), debtOut: Number(row.debt_out) }]),
  );
}

async function latestEpoch(db: Queryable): Promise<EpochRow | undefined> {
  const rows = await db.query<EpochRow>(`select ${epochColumns} from epochs order by number desc limit 1`);
  return rows[0];
}

/** What the next epoch would pay `wallet` if it closed now: the close's own rules over the rows it would count. */
export async function estimateNextEpoch(
  db: Queryable,
  rewards: RewardSettings,
  wallet: string,
): Promise<{ epoch: number; points: number; pointsTotal: number; pool: string; estimatedAmount: string }> {
  const last = await latestEpoch(db);
  const previous = await readPrevious(db, last?.number ?? null);
  const counted = await readCounted(db, countedByWallet(uncountedVerifiedRows), []);
  const result = applyEpochRules({
    poolPerEpoch: rewards.poolPerEpoch,
    carriedIn: last ? BigInt(last.carried_out) : 0n,
    previous,
    counted,
  });
  const line = result.lines.find((candidate) => candidate.wallet === wallet.toLowerCase());
  return {
    epoch: (last?.number ?? 0) + 1,
    points: line?.points ?? 0,
    pointsTotal: result.pointsTotal,
    pool: result.pool.toString(),
    estimatedAmount: (line?.amount ?? 0n).toString(),
  };
}

/** Thrown inside the close's transaction to roll it back when there is nothing to count. */
class NothingToClose extends Error {}

/**
 * Closes the next epoch: counts the rows (one statement, so a row verified while it runs is either in it or
 * left for the next epoch, never both), applies the rules, builds the tree, stores the file and the tree's
 * nodes, and records it all, in one transaction under an advisory lock. Closing a number that is already
 * closed returns it (`closed: false`); so does a close with nothing to count (no epoch is made).
 */
export async function closeEpoch(
  db: Database,
  storage: DatasetStorage,
  rewards: RewardSettings,
  options: { epoch?: number; now?: Date; origin?: string } = {},
): Promise<CloseEpochResult> {
  const origin = options.origin ?? '';
  try {
    return await db.transaction(async (tx) => {
      await tx.query(`select pg_advisory_xact_lock(${epochCloseLock})`);
      const last = await latestEpoch(tx);
      const next = (last?.number ?? 0) + 1;
      if (options.epoch !== undefined && options.epoch < next) {
        const rows = await tx.query<EpochRow>(`select ${epochColumns} from epochs where number = $1`, [options.epoch]);
        const row = rows[0] as EpochRow;
        return {
          closed: false,
          reason: `epoch ${options.epoch} was closed before`,
          epoch: toSummary(row, `${origin}${epochFilePath(row.number)}`),
        };
      }
      if (options.epoch !== undefined && options.epoch > next) {
        throw new BaseError('conflict', `Epoch ${options.epoch} cannot be closed yet: the next epoch is ${next}.`, {
          details: { next },
        });
      }
      const closedAt = options.now ?? new Date();
      // A placeholder row the credits can reference; filled in once the file is stored.
      await tx.query(
        `insert into epochs (number, closed_at, rules_version, pool, points_total, wallets, root, content_id, file_sha256, file_bytes)
         values ($1, $2, $3, 0, 0, 0, '', '', '', 0)`,
        [next, closedAt, rewardRulesVersion],
      );
      await tx.query(
        `insert into epoch_credits (ledger_id, epoch, wallet) select id, $1, wallet from (${uncountedVerifiedRows}) rows`,
        [next],
      );
      const counted = await readCounted(
        tx,
        countedByWallet(
          'select c.wallet, l.points from epoch_credits c join points_ledger l on l.id = c.ledger_id where c.epoch = $1',
        ),
        [next],
      );
      if (counted.size === 0) throw new NothingToClose();
      const result = applyEpochRules({
        poolPerEpoch: rewards.poolPerEpoch,
        carriedIn: last ? BigInt(last.carried_out) : 0n,
        previous: await readPrevious(tx, last?.number ?? null),
        counted,
      });
      const previousLink: PreviousEpochLink | null = last
        ? { epoch: last.number, root: last.root as Hex, contentId: last.content_id }
        : null;
      const stored = await storeEpoch(storage, next, closedAt, result, previousLink);
      await tx.query(
        `update epochs set pool = $2, carried_in = $3, carried_out = $4, points_total = $5, wallets = $6, root = $7,
           content_id = $8, file_sha256 = $9, file_bytes = $10 where number = $1`,
        [
          next,
          result.pool.toString(),
          result.carriedIn.toString(),
          result.carriedOut.toString(),
          result.pointsTotal,
          result.lines.length,
          stored.root,
          stored.contentId,
          stored.sha256,
          stored.bytes,
        ],
      );
      const { lines } = result;
      await tx.query(
        `insert into epoch_wallets (epoch, wallet, earned, reversed, debt_in, points, debt_out, amount, cumulative, tree_index)
         select $1, t.* from unnest($2::text[], $3::text[]::bigint[], $4::text[]::bigint[], $5::text[]::bigint[],
           $6::text[]::bigint[], $7::text[]::bigint[], $8::text[]::numeric[], $9::text[]::numeric[], $10::text[]::int[]) as t`,
        [
          next,
          lines.map((line) => line.wallet),
          lines.map((line) => String(line.earned)),
          lines.map((line) => String(line.reversed)),
          lines.map((line) => String(line.debtIn)),
          lines.map((line) => String(line.points)),
          lines.map((line) => String(line.debtOut)),
          lines.map((line) => line.amount.toString()),
          lines.map((line) => line.cumulative.toString()),
          stored.treeIndexes.map(String),
        ],
      );
      const rows = await tx.query<EpochRow>(`select ${epochColumns} from epochs where number = $1`, [next]);
      return { closed: true, epoch: toSummary(rows[0] as EpochRow, `${origin}${epochFilePath(next)}`) };
    });
  } catch (error) {
    if (!(error instanceof NothingToClose)) throw error;
    const last = await latestEpoch(db);
    return {
      closed: false,
      reason: last
        ? `nothing to close: no newly verified points of linked devices since epoch ${last.number}`
        : 'nothing to close: no verified points of linked devices yet',
      epoch: null,
    };
  }
}

/** Builds the tree, writes `epoch.json` and `tree.bin`, and returns what the epoch's rows record. */
async function storeEpoch(
  storage: DatasetStorage,
  epoch: number,
  closedAt: Date,
  result: EpochRulesResult,
  previous: PreviousEpochLink | null,
): Promise<{ root: Hex; contentId: string; sha256: string; bytes: number; treeIndexes: number[] }> {
  const tree = buildEpochTree(epochTreeEntries(result.lines));
  const bytes = epochFileBytes(buildEpochFile({ epoch, closedAt, result, root: tree.root, previous }));
  const keys = epochStorageKeys(epoch);
  // A close that failed after writing left files no epoch row points to: this one overwrites them.
  await writeStored(storage, keys.tree, tree.nodeBuffer);
  await writeStored(storage, keys.file, bytes);
  return {
    root: tree.root,
    contentId: await contentIdOf(bytes),
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
    treeIndexes: result.lines.map((_line, index) => tree.treeIndex(index)),
  };
}

async function writeStored(storage: DatasetStorage, key: string, bytes: Uint8Array): Promise<void> {
  const writer = storage.openWriter(key);
  writer.sink.end(bytes);
  await writer.done();
}

/** Epochs, newest first. `origin` makes each file URL absolute. */
export async function listEpochs(db: Queryable, origin: string): Promise<EpochSummary[]> {
  const rows = await db.query<EpochRow>(`select ${epochColumns} from epochs order by number desc`);
  return rows.map((row) => toSummary(row, `${origin}${epochFilePath(row.number)}`));
}

/** One epoch (a number, or `latest`), or undefined when there is none. */
export async function findEpoch(
  db: Queryable,
  epoch: number | 'latest',
  origin: string,
): Promise<EpochSummary | undefined> {
  const rows =
    epoch === 'latest'
      ? await db.query<EpochRow>(`select ${epochColumns} from epochs order by number desc limit 1`)
      : await db.query<EpochRow>(`select ${epochColumns} from epochs where number = $1`, [epoch]);
  const row = rows[0];
  return row && toSummary(row, `${origin}${epochFilePath(row.number)}`);
}

/**
 * A wallet's claim in an epoch: its cumulative amount and proof, read from the stored tree node by node
 * (about log2(wallets) reads of 32 bytes), or undefined when the wallet is not in that epoch.
 */
export async function readEpochProof(
  db: Queryable,
  storage: DatasetStorage,
  epoch: number,
  wallet: string,
): Promise<{ cumulativeAmount: string; proof: Hex[] } | undefined> {
  const rows = await db.query<{ cumulative: string; tree_index: number }>(
    'select cumulative::text as cumulative, tree_index from epoch_wallets where epoch = $1 and wallet = $2',
    [epoch, wallet.toLowerCase()],
  );
  const row = rows[0];
  if (!row) return undefined;
  const key = epochStorageKeys(epoch).tree;
  const proof = await Promise.all(
    proofNodeIndexes(row.tree_index).map(
      async (node) => `0x${Buffer.from(await storage.readBytes(key, node * 32, 32)).toString('hex')}` as Hex,
    ),
  );
  return { cumulativeAmount: row.cumulative, proof };
}

/** Records the transaction that set an epoch's root on chain; a second call with the same one changes nothing. */
export async function markEpochPublished(
  db: Queryable,
  epoch: number,
  tx: string,
  origin: string,
): Promise<EpochSummary> {
  const rows = await db.query<EpochRow>(
    `update epochs set published_tx = $2, published_at = coalesce(published_at, now())
     where number = $1 and (published_tx is null or published_tx = $2) returning ${epochColumns}`,
    [epoch, tx],
  );
  const row = rows[0];
  if (row) return toSummary(row, `${origin}${epochFilePath(row.number)}`);
  const existing = await findEpoch(db, epoch, origin);
  if (!existing) throw new BaseError('not_found', `No epoch ${epoch}: close it first.`);
  throw new BaseError('conflict', `Epoch ${epoch} was already published in ${existing.publishedTx}.`, {
    details: { publishedTx: existing.publishedTx },
  });
}
