import type { ReverseCreditsResult } from '@protocol/epochs';
import type { Database } from '../db/database';

interface LedgerRow {
  id: string;
  reference: string;
  state: string;
  reverses: string | null;
  reversed_by: string | null;
}

/**
 * Rejects verified ledger rows after the fact (a late failed audit), keeping the ledger append-only: each
 * becomes a new row `reversal:<reference>`, reason 'reversal', state verified, the negative of its points, the
 * reason in `rejection_reason`. The next epoch charges it to the wallet the original was paid to (never below
 * zero: what is left is carried as debt). Only verified rows that are not reversals themselves, once each.
 */
export async function reverseCredits(
  db: Database,
  references: readonly string[],
  reason: string,
): Promise<ReverseCreditsResult> {
  const unique = [...new Set(references)];
  return db.transaction(async (tx) => {
    const rows = await tx.query<LedgerRow>(
      `select l.id::text as id, l.reference, l.state, l.reverses::text as reverses, r.id::text as reversed_by
       from points_ledger l left join points_ledger r on r.reverses = l.id
       where l.reference = any($1::text[])`,
      [unique],
    );
    const byReference = new Map(rows.map((row) => [row.reference, row]));
    const skipped: ReverseCreditsResult['skipped'] = [];
    const ids: string[] = [];
    for (const reference of unique) {
      const row = byReference.get(reference);
      const why = !row
        ? 'no ledger row has this reference'
        : row.reverses !== null
          ? 'it is a reversal itself'
          : row.reversed_by !== null
            ? 'it was reversed before'
            : row.state === 'pending'
              ? 'it is still pending: it will be settled (or rejected) by its audits'
              : row.state !== 'verified'
                ? `it is ${row.state}, so it was never paid`
                : undefined;
      if (row && !why) ids.push(row.id);
      else skipped.push({ reference, reason: why ?? 'no ledger row has this reference' });
    }
    // `on conflict do nothing`: a concurrent reversal of the same row wins, this one reports it as done before.
    const inserted = await tx.query<{ reference: string }>(
      `insert into points_ledger (device, reference, reason, points, state, rejection_reason, reverses, settled_at)
       select device, 'reversal:' || reference, 'reversal', -points, 'verified', $2, id, now()
       from points_ledger where id = any($1::text[]::bigint[])
       on conflict do nothing
       returning substr(reference, 10) as reference`,
      [ids, reason],
    );
    const reversed = new Set(inserted.map((row) => row.reference));
    const tried = new Set(ids);
    for (const reference of unique) {
      const row = byReference.get(reference);
      if (row && tried.has(row.id) && !reversed.has(reference)) {
        skipped.push({ reference, reason: 'it was reversed before' });
      }
    }
    return { reversed: unique.filter((reference) => reversed.has(reference)), skipped };
  });
}
