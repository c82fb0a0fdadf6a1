import type { PointsSummary } from '@protocol/points';
import type { Queryable } from '../db/database';

/** Why a row was credited: a page, an audit copy (a page fetched to check another device's), a check page, a label. */
type LedgerReason = 'scrape' | 'audit' | 'canary' | 'label' | 'label_gold';

export interface Credit {
  device: string;
  reference: string;
  reason: LedgerReason;
  points: number;
  state: 'pending' | 'verified' | 'rejected';
  rejectionReason?: string;
  url: string | null;
}

/** Credits per statement in `creditMany`: the arrays of one statement stay about a megabyte. */
const creditBatch = 10_000;

/** The append-only points ledger: one row per reference; pending rows are settled once. */
export function ledgerRepository(tx: Queryable) {
  return {
    /** Credits many references of one device at once, pending, with the same points each. */
    async creditManyPending(
      device: string,
      reason: LedgerReason,
      credits: ReadonlyArray<{ reference: string; url: string | null }>,
      points: number,
    ): Promise<void> {
      if (credits.length === 0) return;
      await tx.query(
        `insert into points_ledger (device, reference, reason, points, state, url)
         select $1, t.reference, $2, $3::bigint, 'pending', t.url from unnest($4::text[], $5::text[]) as t(reference, url)
         on conflict (reference) do nothing`,
        [
          device,
          reason,
          String(points),
          credits.map((credit) => credit.reference),
          credits.map((credit) => credit.url),
        ],
      );
    },

    /**
     * Credits many references in order, a few statements whatever their number; returns the references that
     * got a row now (the rest were credited before: the unique key refuses a second row).
     */
    async creditMany(credits: readonly Credit[]): Promise<Set<string>> {
      const written = new Set<string>();
      for (let at = 0; at < credits.length; at += creditBatch) {
        const batch = credits.slice(at, at + creditBatch);
        const rows = await tx.query<{ reference: string }>(
          `insert into points_ledger (device, reference, reason, points, state, rejection_reason, url, settled_at)
           select t.device, t.reference, t.reason, t.points::numeric, t.state, t.rejection_reason, t.url,
                  case when t.state = 'pending' then null else now() end
             from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
                  with ordinality as t(device, reference, reason, points, state, rejection_reason, url, n)
            order by t.n
           on conflict (reference) do nothing returning reference`,
          [
            batch.map((credit) => credit.device),
            batch.map((credit) => credit.reference),
            batch.map((credit) => credit.reason),
            batch.map((credit) => String(credit.points)),
            batch.map((credit) => credit.state),
            batch.map((credit) => credit.rejectionReason ?? null),
            batch.map((credit) => credit.url),
          ],
        );
        for (const row of rows) written.add(row.reference);
      }
      return written;
    },

    /** Settles many pending rows at once, in reference order (ledger rows are the last locks a transaction takes). */
    async settleMany(
      references: readonly string[],
      state: 'verified' | 'rejected',
      rejectionReason?: string,
    ): Promise<void> {
      if (references.length === 0) return;
      await tx.query(
        `update points_ledger set state = $2, rejection_reason = $3, settled_at = now()
          where id in (select id from points_ledger where reference = any($1::text[]) and state = 'pending'
                        order by reference for update)`,
        [[...references], state, rejectionReason ?? null],
      );
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
