import type { DatasetOptions, DatasetSource } from '@protocol/datasets';
import type { Queryable } from '../db/database';

/**
 * Takes a dataset's snapshot in one statement (one consistent read): the source rows it will hold, each
 * with its verification state as of now. Later verification, new pages or new labels change nothing in it.
 *
 * Pages: one row per job (redundant copies of a job are one page: the verified copy if any, else the
 * first received). A page whose text equals an earlier eligible page's text is flagged as an exact
 * duplicate here, where the database can compare hashes of a million pages without holding them in memory;
 * eligible means it passes the verification and language filters, so a dropped copy never hides a kept one.
 *
 * Labels: one row per item that is not gold, holding its aggregate and raw labels as they are now, with each
 * labeler's gold record as it is now (answers and right answers over all projects: what their standing and
 * pay rest on; labeler-quality.ts turns it into an accuracy).
 */
export async function takeSnapshot(
  tx: Queryable,
  datasetId: string,
  source: DatasetSource,
  options: DatasetOptions,
): Promise<{ snapshotAt: Date; sourceRows: number }> {
  const [now] = await tx.query<{ now: Date | string }>('select now() as now');
  await tx.query('delete from dataset_snapshot_rows where dataset_id = $1', [datasetId]);
  if (source.kind === 'campaign') {
    const languages = options.languages.map((language) => language.toLowerCase());
    await tx.query(
      `insert into dataset_snapshot_rows (dataset_id, source_id, verification, exact_duplicate)
       select $1, chosen.id, chosen.verification,
              chosen.eligible and row_number() over (partition by chosen.eligible, chosen.text_sha256 order by chosen.id) > 1
         from (
           select distinct on (p.job_id) p.id, p.verification, p.text_sha256,
                  ($3::boolean or p.verification = 'verified')
                    and (cardinality($4::text[]) = 0 or lower(split_part(coalesce(p.lang, ''), '-', 1)) = any($4::text[]))
                    as eligible
             from pages p
            where p.campaign_id = $2
            order by p.job_id, (p.verification = 'verified') desc, p.id
         ) chosen`,
      [datasetId, source.campaignId, options.verification === 'all', languages],
    );
  } else {
    await tx.query(
      `with gold as (
         select device, count(*)::int as answered, count(*) filter (where gold_correct)::int as correct
           from labels
          where is_gold and device in (select device from labels where project_id = $2)
          group by device
       )
       insert into dataset_snapshot_rows (dataset_id, source_id, verification, frozen)
       select $1, i.id,
              case when a.item_id is not null and i.complete then 'verified'
                   when a.item_id is not null then 'provisional' else 'unlabeled' end,
              jsonb_build_object(
                'external_id', i.external_id, 'content', i.content,
                'label', a.label, 'confidence', a.confidence, 'method', a.method,
                'raw', coalesce((
                  select jsonb_agg(jsonb_build_object(
                           'device', l.device, 'value', l.value,
                           'gold_answered', coalesce(g.answered, 0), 'gold_correct', coalesce(g.correct, 0)) order by l.id)
                    from labels l left join gold g on g.device = l.device
                   where l.item_id = i.id), '[]'::jsonb))
         from project_items i left join aggregated_labels a on a.item_id = i.id
        where i.project_id = $2 and i.gold_answer is null`,
      [datasetId, source.projectId],
    );
  }
  const [count] = await tx.query<{ n: number }>(
    'select count(*)::int as n from dataset_snapshot_rows where dataset_id = $1',
    [datasetId],
  );
  return { snapshotAt: new Date((now as { now: Date | string }).now), sourceRows: count?.n ?? 0 };
}

/** A page of the snapshot with the stored page, as the build reads it. */
export interface SnapshotPage {
  id: number;
  verification: string;
  exactDuplicate: boolean;
  url: string;
  finalUrl: string;
  fetchedAt: Date;
  httpStatus: number;
  contentType: string;
  lang: string | null;
  title: string;
  text: string;
  html: string | null;
  device: string;
}

/** A label item of the snapshot, frozen as it was. */
export interface SnapshotItem {
  id: number;
  verification: string;
  externalId: string;
  content: string;
  label: string | null;
  confidence: number | null;
  method: string | null;
  raw: Array<{ device: string; value: string; gold_answered: number; gold_correct: number }>;
}

/**
 * Reads the snapshot in source order, `batchSize` rows at a time (keyset paging: each batch is a short
 * query, so neither PGlite's one connection nor a PostgreSQL transaction is held while files are written).
 * `withText: false` leaves the large columns out (html) for passes that need only the text.
 */
export async function* snapshotPages(
  db: Queryable,
  datasetId: string,
  batchSize: number,
  withHtml: boolean,
): AsyncGenerator<SnapshotPage[]> {
  let after = 0;
  for (;;) {
    const rows = await db.query<{
      id: string;
      verification: string;
      exact_duplicate: boolean;
      url: string;
      final_url: string;
      fetched_at: Date | string;
      http_status: number;
      content_type: string;
      lang: string | null;
      title: string;
      text: string;
      html: string | null;
      device: string;
    }>(
      `select s.source_id::text as id, s.verification, s.exact_duplicate, p.url, p.final_url, p.fetched_at,
              p.http_status, p.content_type, p.lang, p.title, p.text, ${withHtml ? 'p.html' : 'null::text as html'}, p.device
         from dataset_snapshot_rows s join pages p on p.id = s.source_id
        where s.dataset_id = $1 and s.source_id > $2
        order by s.source_id
        limit $3`,
      [datasetId, after, batchSize],
    );
    if (rows.length === 0) return;
    after = Number((rows.at(-1) as { id: string }).id);
    yield rows.map((row) => ({
      id: Number(row.id),
      verification: row.verification,
      exactDuplicate: row.exact_duplicate,
      url: row.url,
      finalUrl: row.final_url,
      fetchedAt: new Date(row.fetched_at),
      httpStatus: row.http_status,
      contentType: row.content_type,
      lang: row.lang,
      title: row.title,
      text: row.text,
      html: row.html,
      device: row.device,
    }));
    if (rows.length < batchSize) return;
  }
}

/** Reads the frozen label items in source order, a batch at a time. */
export async function* snapshotItems(
  db: Queryable,
  datasetId: string,
  batchSize: number,
): AsyncGenerator<SnapshotItem[]> {
  let after = 0;
  for (;;) {
    const rows = await db.query<{ id: string; verification: string; frozen: unknown }>(
      `select source_id::text as id, verification, frozen from dataset_snapshot_rows
        where dataset_id = $1 and source_id > $2 order by source_id limit $3`,
      [datasetId, after, batchSize],
    );
    if (rows.length === 0) return;
    after = Number((rows.at(-1) as { id: string }).id);
    yield rows.map((row) => {
      const frozen = (typeof row.frozen === 'string' ? JSON.parse(row.frozen) : row.frozen) as {
        external_id: string;
        content: string;
        label: string | null;
        confidence: number | null;
        method: string | null;
        raw: SnapshotItem['raw'];
      };
      return {
        id: Number(row.id),
        verification: row.verification,
        externalId: frozen.external_id,
        content: frozen.content,
        label: frozen.label,
        confidence: frozen.confidence,
        method: frozen.method,
        raw: frozen.raw,
      };
    });
    if (rows.length < batchSize) return;
  }
}
