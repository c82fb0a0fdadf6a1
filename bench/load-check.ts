import type { Database } from '../server/src/db/database';
import type { Acknowledged } from './load-device';

export interface LoadCorrectness {
  /** Jobs with more live (not expired) assignments than the copies they asked for. */
  overLeasedJobs: number;
  /** Jobs credited more times than the copies they asked for (a page credit names its job: `scrape:<job>:<device>`). */
  overCreditedJobs: number;
  /** Ledger references that appear more than once (the ledger's unique index forbids it; checked all the same). */
  duplicateReferences: number;
  /** Page credits in the ledger: with none, "nothing credited twice" would hold vacuously. */
  scrapeCredits: number;
  pagesAcknowledged: number;
  pagesMissing: number;
  labelsAcknowledged: number;
  labelsMissing: number;
}

const count = async (db: Database, sql: string, params: unknown[] = []) =>
  (await db.query<{ n: number }>(sql, params))[0]?.n ?? 0;

/** Checks from the database what must hold however loaded the server was. */
export async function checkLoadCorrectness(db: Database, acknowledged: Acknowledged): Promise<LoadCorrectness> {
  const overLeasedJobs = await count(
    db,
    `select count(*)::int as n from (
       select j.id from jobs j join assignments a on a.job_id = j.id and a.state <> 'expired'
       group by j.id, j.copies_wanted having count(*) > j.copies_wanted) over_leased`,
  );
  const overCreditedJobs = await count(
    db,
    `select count(*)::int as n from (
       select j.id from points_ledger l join jobs j on j.id = split_part(l.reference, ':', 2)::bigint
       where l.reference like 'scrape:%' and l.points > 0
       group by j.id, j.copies_wanted having count(*) > j.copies_wanted) over_credited`,
  );
  const scrapeCredits = await count(
    db,
    `select count(*)::int as n from points_ledger where reference like 'scrape:%' and points > 0`,
  );
  const duplicateReferences = await count(
    db,
    `select count(*)::int as n from (select reference from points_ledger group by reference having count(*) > 1) d`,
  );
  const pagesStored = await count(
    db,
    'select count(distinct assignment_id)::int as n from pages where assignment_id = any($1::bigint[])',
    [acknowledged.pages],
  );
  const labelsStored = await count(
    db,
    'select count(distinct assignment_id)::int as n from labels where assignment_id = any($1::bigint[])',
    [acknowledged.labels],
  );
  const pages = new Set(acknowledged.pages).size;
  const labels = new Set(acknowledged.labels).size;
  return {
    overLeasedJobs,
    overCreditedJobs,
    duplicateReferences,
    scrapeCredits,
    pagesAcknowledged: pages,
    pagesMissing: pages - pagesStored,
    labelsAcknowledged: labels,
    labelsMissing: labels - labelsStored,
  };
}

export interface StorageFigures {
  table: string;
  rows: number;
  /** Heap, TOAST and indexes together, per row. */
  bytesPerRow: number;
}

/** What each stored row costs on disk, for the capacity plan (docs/scaling.md): pages, ledger, labels, assignments. */
export async function storageFigures(db: Database): Promise<StorageFigures[]> {
  const figures: StorageFigures[] = [];
  for (const table of ['pages', 'points_ledger', 'labels', 'assignments', 'jobs']) {
    const [row] = await db.query<{ rows: number; bytes: number }>(
      `select (select count(*)::int from ${table}) as rows, pg_total_relation_size('${table}')::float8 as bytes`,
    );
    if (row && row.rows > 0) figures.push({ table, rows: row.rows, bytesPerRow: row.bytes / row.rows });
  }
  return figures;
}
