import type { PointsSummary } from '@protocol/points';
import type { Queryable } from '../db/database';

/** Below this trust a device's unverified work is rejected. */
const minimumTrust = 0.1;

type LedgerReason = 'scrape' | 'scrape_sampled' | 'canary' | 'label' | 'label_gold';

export interface Credit {
  device: string;
  reference: string;
  reason: LedgerReason;
  points: number;
  state: 'pending' | 'verified' | 'rejected';
  rejectionReason?: string;
  url: string | null;
}

/** The append-only points ledger: one row per reference; pending rows are settled once. */
export function ledgerRepository(tx: Queryable) {
  return {
    /** Credits a reference once; false when it was credited before (the unique key refuses a second row). */
    async credit(credit: Credit): Promise<boolean> {
      const rows = await tx.query(
        `insert into points_ledger (device, reference, reason, points, state, rejection_reason, url, settled_at)
         values ($1, $2, $3, $4, $5, $6, $7, case when $5 = 'pending' then null else now() end)
         on conflict (reference) do nothing returning 1`,
        [
          credit.device,
          credit.reference,
          credit.reason,
          credit.points,
          credit.state,
          credit.rejectionReason ?? null,
          credit.url,
        ],
      );
      return rows.length === 1;
    },

    /** Credits many references of one device at once, each scaled by the device's trust (unsampled pages). */
    async creditManyScaledByTrust(
      device: string,
      credits: ReadonlyArray<{ reference: string; url: string | null }>,
      points: number,
    ): Promise<void> {
      if (credits.length === 0) return;
      await tx.query(
        `insert into points_ledger (device, reference, reason, points, state, url)
         select d.address, t.reference, 'scrape', round($2::int * d.trust)::bigint, 'pending', t.url
           from devices d, unnest($3::text[], $4::text[]) as t(reference, url)
          where d.address = $1
         on conflict (reference) do nothing`,
        [device, points, credits.map((credit) => credit.reference), credits.map((credit) => credit.url)],
      );
    },

    async settle(reference: string, state: 'verified' | 'rejected', rejectionReason?: string): Promise<void> {
      await tx.query(
        `update points_ledger set state = $2, rejection_reason = $3, settled_at = now()
          where reference = $1 and state = 'pending'`,
        [reference, state, rejectionReason ?? null],
      );
    },

    /** A passed check vouches for the device's earlier unsampled work: settle it as verified. */
    async verifyPendingOf(device: string): Promise<void> {
      const settled = await tx.query<{ reference: string }>(
        `update points_ledger set state = 'verified', settled_at = now()
          where device = $1 and state = 'pending' and reason = 'scrape' returning reference`,
        [device],
      );
      if (settled.length === 0) return;
      await tx.query(
        `update pages set verification = 'verified'
          where device = $1 and verification = 'unverified' and ('scrape:' || job_id || ':' || device) = any($2::text[])`,
        [device, settled.map((row) => row.reference)],
      );
      // Skip jobs another batch holds: a job left 'fetched' here is closed by that batch or the next check,
      // and waiting would take job locks out of the global order (jobs before devices) and risk a deadlock.
      await tx.query(
        `update jobs set state = 'verified', open_slots = 0
          where id in (select id from jobs
                        where state = 'fetched'
                          and id in (select job_id from pages where device = $1 and verification = 'verified')
                        order by id for update skip locked)`,
        [device],
      );
    },

    /** Moves a device's trust after a check; too little trust rejects its pending unsampled work. */
    async adjustTrust(device: string, passed: boolean): Promise<number> {
      const rows = await tx.query<{ trust: number }>(
        `update devices set trust = case when $2 then least(1.0, trust + 0.1) else trust * 0.5 end
          where address = $1 returning trust`,
        [device, passed],
      );
      const trust = rows[0]?.trust ?? 0;
      if (!passed && trust < minimumTrust) {
        await tx.query(
          `update points_ledger set state = 'rejected', settled_at = now(),
                  rejection_reason = 'this device failed too many checks; its unverified work is not credited'
            where device = $1 and state = 'pending'`,
          [device],
        );
      }
      return trust;
    },

    async summary(device: string): Promise<PointsSummary> {
      const sums = await tx.query<{ state: string; points: number | string }>(
        `select state, coalesce(sum(points), 0)::int8 as points from points_ledger where device = $1 group by state`,
        [device],
      );
      const trust = await tx.query<{ trust: number }>('select trust from devices where address = $1', [device]);
      const rejections = await tx.query<{
        reference: string;
        url: string | null;
        rejection_reason: string;
        settled_at: Date;
      }>(
        `select reference, url, rejection_reason, settled_at from points_ledger
          where device = $1 and state = 'rejected' order by settled_at desc, id desc limit 20`,
        [device],
      );
      // The postgres driver reads int8 as a string, PGlite as a number: both are whole and exact.
      const total = (state: string) => Number(sums.find((row) => row.state === state)?.points ?? 0);
      return {
        pending: total('pending'),
        verified: total('verified'),
        rejected: total('rejected'),
        trust: trust[0]?.trust ?? 0,
        recentRejections: rejections.map((row) => ({
          reference: row.reference,
          url: row.url,
          reason: row.rejection_reason,
          at: row.settled_at.toISOString(),
        })),
      };
    },
  };
}
