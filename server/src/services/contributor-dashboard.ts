import type {
  LedgerEntry,
  LedgerPage,
  LedgerQuery,
  LedgerState,
  PointsByDay,
  WalletOverview,
} from '@protocol/contributors';
import { BaseError } from '@protocol/errors';
import { type Address, getAddress } from 'viem';
import type { Queryable } from '../db/database';
import { estimateNextEpoch } from '../rewards/epoch-service';
import { walletLedgerRows, walletSpellings } from '../rewards/ledger-wallets';
import type { RewardSettings } from '../rewards/reward-settings';

/**
 * The wallet's ledger rows (which rows belong to it: server/src/rewards/ledger-wallets.ts), each with the epoch
 * that paid it (null while unpaid) and the state its contributor is shown. `$1`, `$2`: `walletSpellings`.
 */
const walletRowsSql = `
  wallet_rows as (${walletLedgerRows}),
  shown_rows as (
    select l.*, w.epoch,
           -- A verified row found bad after all keeps its state (the ledger is append-only) and gains a
           -- reversal row; to its contributor it is reversed.
           case when l.state = 'verified' and l.reverses is null
                 and exists (select 1 from points_ledger r where r.reverses = l.id)
                then 'reversed' else l.state end as shown_state
      from wallet_rows w join points_ledger l on l.id = w.id
  )`;

interface LedgerRow {
  id: string | number;
  device: string;
  reference: string;
  reason: string;
  points: string | number;
  shown_state: LedgerState;
  rejection_reason: string | null;
  url: string | null;
  created_at: Date;
  settled_at: Date | null;
  epoch: string | number | null;
}

function toLedgerEntry(row: LedgerRow): LedgerEntry {
  return {
    id: String(row.id),
    device: row.device,
    reference: row.reference,
    reason: row.reason,
    points: Number(row.points),
    state: row.shown_state,
    rejectionReason: row.rejection_reason,
    url: row.url,
    createdAt: row.created_at.toISOString(),
    settledAt: row.settled_at?.toISOString() ?? null,
    epoch: row.epoch === null ? null : Number(row.epoch),
  };
}

/** Ledger ids only grow, so "newest first" is id order and the last id shown is the whole cursor. */
function encodeLedgerCursor(id: string): string {
  return Buffer.from(`ledger:${id}`, 'utf8').toString('base64url');
}

function decodeLedgerCursor(text: string): string {
  const match = /^ledger:([1-9][0-9]{0,18})$/.exec(Buffer.from(text, 'base64url').toString('utf8'));
  if (!match?.[1]) {
    throw new BaseError('bad_request', 'cursor is not from this ledger: pass the nextCursor of a previous page.');
  }
  return match[1];
}

type PointsTriple = { pending: number; verified: number; rejected: number };

/**
 * Adds a row group to a pending/verified/rejected summary: reversal rows are left out (their original, shown
 * reversed, stands for them) and reversed work counts as rejected, which is what happened to it.
 */
function addTo(summary: PointsTriple, state: LedgerState, points: number): void {
  if (state === 'pending') summary.pending += points;
  else if (state === 'verified') summary.verified += points;
  else summary.rejected += points;
}

const dayMs = 86_400_000;

/** What a signed-in contributor sees of their wallet: devices, points, the next epoch, rewards, the ledger. */
export function contributorDashboard(db: Queryable, rewards: RewardSettings) {
  /** When the schedule closes the next epoch: the last close plus the interval (null with no schedule or no close yet). */
  async function nextScheduledClose(): Promise<string | null> {
    if (rewards.closeEveryMs === null) return null;
    const rows = await db.query<{ closed_at: Date }>('select closed_at from epochs order by number desc limit 1');
    const last = rows[0];
    return last ? new Date(last.closed_at.getTime() + rewards.closeEveryMs).toISOString() : null;
  }

  return {
    async overview(wallet: Address): Promise<WalletOverview> {
      const params = walletSpellings(wallet);
      const devices = await db.query<{
        address: string;
        browser: string;
        extension_version: string;
        trust: number;
        last_seen_at: Date;
        linked_at: Date;
      }>(
        `select d.address, d.browser, d.extension_version, d.trust, d.last_seen_at, w.linked_at
           from wallet_links w join devices d on d.address = w.device
          where w.wallet in ($1, $2) and w.unlinked_at is null order by w.linked_at, d.address`,
        params,
      );
      const former = await db.query<{ device: string; linked_at: Date; unlinked_at: Date }>(
        `select w.device, w.linked_at, w.unlinked_at from wallet_links w
          where w.wallet in ($1, $2) and w.unlinked_at is not null
            and not exists (select 1 from wallet_links o
                             where o.device = w.device and o.wallet in ($1, $2) and o.unlinked_at is null)
          order by w.unlinked_at desc, w.id desc`,
        params,
      );
      const sums = await db.query<{
        device: string;
        shown_state: LedgerState;
        paid: boolean;
        reversal: boolean;
        points: string | number;
      }>(
        `with ${walletRowsSql}
         select device, shown_state, epoch is not null as paid, reverses is not null as reversal,
                sum(points)::int8 as points
           from shown_rows group by 1, 2, 3, 4`,
        params,
      );
      const debt = await db.query<{ debt_out: string | number }>(
        `select debt_out from epoch_wallets where wallet in ($1, $2) order by epoch desc limit 1`,
        params,
      );
      const epochs = await db.query<{
        epoch: string | number;
        points: string | number;
        reversed: string | number;
        amount: string;
        cumulative: string;
        published: boolean;
      }>(
        `select w.epoch, w.points, w.reversed, w.amount::text as amount, w.cumulative::text as cumulative,
                e.published_tx is not null as published
           from epoch_wallets w join epochs e on e.number = w.epoch
          where w.wallet in ($1, $2) order by w.epoch desc`,
        params,
      );

      const perDevice = new Map<string, PointsTriple>();
      const points = { pending: 0, verifiedUnpaid: 0, paid: 0, rejected: 0, reversed: 0, debt: 0 };
      for (const row of sums) {
        const value = Number(row.points);
        if (row.reversal) {
          points.reversed -= value;
          continue;
        }
        const device = perDevice.get(row.device) ?? { pending: 0, verified: 0, rejected: 0 };
        perDevice.set(row.device, device);
        addTo(device, row.shown_state, value);
        if (row.shown_state === 'pending') points.pending += value;
        else if (row.shown_state === 'rejected') points.rejected += value;
        // Verified rows, reversed or not, were earned: the reversal is charged separately (points.reversed).
        else if (row.paid) points.paid += value;
        else points.verifiedUnpaid += value;
      }
      points.debt = Number(debt[0]?.debt_out ?? 0);

      const estimate = await estimateNextEpoch(db, rewards, wallet);
      const latest = epochs[0];
      return {
        wallet,
        devices: devices.map((row) => ({
          address: row.address,
          browser: row.browser,
          extensionVersion: row.extension_version,
          trust: row.trust,
          lastSeenAt: row.last_seen_at.toISOString(),
          linkedAt: row.linked_at.toISOString(),
          points: perDevice.get(row.address) ?? { pending: 0, verified: 0, rejected: 0 },
        })),
        formerDevices: former.map((row) => ({
          address: row.device,
          linkedAt: row.linked_at.toISOString(),
          unlinkedAt: row.unlinked_at.toISOString(),
        })),
        points,
        nextEpoch: { ...estimate, closesAt: await nextScheduledClose() },
        rewards: {
          latestEpoch: latest ? Number(latest.epoch) : null,
          cumulative: latest?.cumulative ?? '0',
          epochs: epochs.map((row) => ({
            epoch: Number(row.epoch),
            points: Number(row.points),
            reversed: Number(row.reversed),
            amount: row.amount,
            published: row.published,
          })),
        },
      };
    },

    /** Points per UTC day over the last `days` days (today included), every day present, oldest first. */
    async pointsByDay(wallet: Address, days: number): Promise<PointsByDay> {
      const today = Math.floor(Date.now() / dayMs) * dayMs;
      const first = new Date(today - (days - 1) * dayMs);
      const rows = await db.query<{ day: string; shown_state: LedgerState; points: string | number }>(
        `with ${walletRowsSql}
         select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD') as day, shown_state, sum(points)::int8 as points
           from shown_rows where reverses is null and created_at >= $3 group by 1, 2`,
        [...walletSpellings(wallet), first],
      );
      const byDay = new Map<string, PointsTriple>();
      for (let i = 0; i < days; i++) {
        byDay.set(new Date(first.getTime() + i * dayMs).toISOString().slice(0, 10), {
          pending: 0,
          verified: 0,
          rejected: 0,
        });
      }
      for (const row of rows) {
        const day = byDay.get(row.day);
        // A row stamped after the day this request began (a clock tick past midnight) waits for tomorrow's chart.
        if (day) addTo(day, row.shown_state, Number(row.points));
      }
      return { days: [...byDay].map(([day, sums]) => ({ day, ...sums })) };
    },

    /** One page of the wallet's ledger rows, newest first, filtered by shown state, reason and device. */
    async ledger(wallet: Address, query: LedgerQuery): Promise<LedgerPage> {
      const before = query.cursor === undefined ? null : decodeLedgerCursor(query.cursor);
      const rows = await db.query<LedgerRow>(
        `with ${walletRowsSql}
         select id, device, reference, reason, points, shown_state, rejection_reason, url, created_at, settled_at, epoch
           from shown_rows
          where ($3::text is null or shown_state = $3)
            and ($4::text is null or reason = $4)
            and ($5::text is null or device = $5)
            and ($6::text is null or id < $6::bigint)
          order by id desc limit $7`,
        [
          ...walletSpellings(wallet),
          query.state ?? null,
          query.reason ?? null,
          query.device === undefined ? null : getAddress(query.device),
          before,
          query.limit + 1,
        ],
      );
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return {
        entries: page.map(toLedgerEntry),
        nextCursor: rows.length > query.limit && last ? encodeLedgerCursor(String(last.id)) : null,
      };
    },
  };
}
