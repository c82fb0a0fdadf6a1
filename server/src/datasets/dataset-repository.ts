import {
  type Dataset,
  type DatasetFile,
  type DatasetFormat,
  type DatasetOptions,
  type DatasetSource,
  type DatasetState,
  type DatasetStats,
  datasetFileSchema,
  datasetFormatSchema,
  datasetOptionsSchema,
  datasetStatsSchema,
} from '@protocol/datasets';
import { z } from 'zod';
import type { Queryable } from '../db/database';
import { listCursorSql, listNewestFirst } from '../services/list-cursor';

/** A dataset as stored: the wire record plus what only the server sees. */
export interface DatasetRecord extends Dataset {
  buyerId: string;
  pseudonymKey: string;
}

interface DatasetRow {
  id: string;
  buyer_id: string;
  name: string;
  source_kind: 'campaign' | 'project';
  source_id: string;
  formats: unknown;
  options: unknown;
  state: DatasetState;
  phase: string;
  rows_done: string | number;
  rows_total: string | number | null;
  error: string | null;
  pseudonym_key: string;
  snapshot_at: Date | string | null;
  merkle_root: string | null;
  stats: unknown;
  files: unknown;
  created_at: Date | string;
  finished_at: Date | string | null;
  cursor: string;
}

const columns = `id, buyer_id, name, source_kind, source_id, formats, options, state, phase, rows_done, rows_total,
  error, pseudonym_key, snapshot_at, merkle_root, stats, files, created_at, finished_at,
  ${listCursorSql('created_at')} as cursor`;

const iso = (value: Date | string) => new Date(value).toISOString();
const json = (value: unknown) => (typeof value === 'string' ? JSON.parse(value) : value);

function toRecord(row: DatasetRow): DatasetRecord {
  const source: DatasetSource =
    row.source_kind === 'campaign'
      ? { kind: 'campaign', campaignId: row.source_id }
      : { kind: 'project', projectId: row.source_id };
  const stats = json(row.stats);
  return {
    id: row.id,
    buyerId: row.buyer_id,
    pseudonymKey: row.pseudonym_key,
    name: row.name,
    source,
    formats: z.array(datasetFormatSchema).parse(json(row.formats)),
    options: datasetOptionsSchema.parse(json(row.options)),
    state: row.state,
    progress: {
      phase: row.phase,
      rowsDone: Number(row.rows_done),
      rowsTotal: row.rows_total === null ? null : Number(row.rows_total),
    },
    error: row.error,
    createdAt: iso(row.created_at),
    snapshotAt: row.snapshot_at === null ? null : iso(row.snapshot_at),
    finishedAt: row.finished_at === null ? null : iso(row.finished_at),
    merkleRoot: row.merkle_root,
    stats: stats === null || stats === undefined ? null : datasetStatsSchema.parse(stats),
    files: z.array(datasetFileSchema).parse(json(row.files) ?? []),
  };
}

/** The wire record: what a buyer sees of a dataset. */
export function publicDataset(record: DatasetRecord): Dataset {
  const { buyerId: _buyer, pseudonymKey: _key, ...dataset } = record;
  return dataset;
}

/** Data access for datasets; every read by a buyer names the buyer, so nobody reads another's dataset. */
export function datasetRepository(db: Queryable) {
  return {
    async insert(input: {
      id: string;
      buyerId: string;
      name: string;
      source: DatasetSource;
      formats: DatasetFormat[];
      options: DatasetOptions;
      pseudonymKey: string;
    }): Promise<DatasetRecord> {
      const sourceId = input.source.kind === 'campaign' ? input.source.campaignId : input.source.projectId;
      const [row] = await db.query<DatasetRow>(
        `insert into datasets (id, buyer_id, name, source_kind, source_id, formats, options, pseudonym_key)
         values ($1, $2, $3, $4, $5, $6::text::jsonb, $7::text::jsonb, $8)
         returning ${columns}`,
        [
          input.id,
          input.buyerId,
          input.name,
          input.source.kind,
          sourceId,
          JSON.stringify(input.formats),
          JSON.stringify(input.options),
          input.pseudonymKey,
        ],
      );
      return toRecord(row as DatasetRow);
    },

    /** The dataset if it belongs to this buyer and is not deleted. */
    async findForBuyer(buyerId: string, id: string): Promise<DatasetRecord | null> {
      const [row] = await db.query<DatasetRow>(
        `select ${columns} from datasets where id = $1 and buyer_id = $2 and deleted_at is null`,
        [id, buyerId],
      );
      return row ? toRecord(row) : null;
    },

    /** Any live dataset by id (the build, pre-signed downloads). */
    async findById(id: string): Promise<DatasetRecord | null> {
      const [row] = await db.query<DatasetRow>(`select ${columns} from datasets where id = $1 and deleted_at is null`, [
        id,
      ]);
      return row ? toRecord(row) : null;
    },

    /** A buyer's datasets, newest first, `limit` at a time after a cursor (400 for a cursor not made here). */
    async listForBuyer(
      buyerId: string,
      before: string | undefined,
      limit: number,
    ): Promise<{ datasets: DatasetRecord[]; next: string | null }> {
      const page = await listNewestFirst<DatasetRow>(db, 'datasets', columns, {
        buyerId,
        before,
        limit,
        where: 'deleted_at is null',
      });
      return { datasets: page.rows.map(toRecord), next: page.next };
    },

    async setProgress(id: string, phase: string, rowsDone: number, rowsTotal: number | null): Promise<void> {
      await db.query(
        `update datasets set phase = $2, rows_done = $3, rows_total = $4
          where id = $1 and state = 'building'`,
        [id, phase, rowsDone, rowsTotal],
      );
    },

    /** Moves a queued (or re-run) build to building; false when it was cancelled or deleted meanwhile. */
    async startBuilding(id: string): Promise<boolean> {
      const rows = await db.query(
        `update datasets set state = 'building', error = null
          where id = $1 and state in ('queued', 'building') and deleted_at is null returning id`,
        [id],
      );
      return rows.length > 0;
    },

    async setSnapshotTaken(id: string, snapshotAt: Date, sourceRows: number): Promise<void> {
      await db.query(`update datasets set snapshot_at = $2, rows_total = $3 where id = $1`, [
        id,
        snapshotAt.toISOString(),
        sourceRows,
      ]);
    },

    /** Whether the build should go on: still building and not deleted. */
    async isStillBuilding(id: string): Promise<boolean> {
      const [row] = await db.query<{ state: string }>(
        `select state from datasets where id = $1 and deleted_at is null`,
        [id],
      );
      return row?.state === 'building';
    },

    /**
     * Publishes a finished build: files, root and stats become visible in the same update that makes the
     * dataset ready, and only if it is still building (a cancel in between wins). True when published.
     */
    async publish(
      id: string,
      result: { files: DatasetFile[]; merkleRoot: string; stats: DatasetStats; rows: number },
    ): Promise<boolean> {
      const rows = await db.query(
        `update datasets set state = 'ready', phase = 'done', rows_done = $5, rows_total = $5, files = $2::text::jsonb,
                merkle_root = $3, stats = $4::text::jsonb, finished_at = now()
          where id = $1 and state = 'building' and deleted_at is null returning id`,
        [id, JSON.stringify(result.files), result.merkleRoot, JSON.stringify(result.stats), result.rows],
      );
      return rows.length > 0;
    },

    async fail(id: string, error: string): Promise<void> {
      await db.query(
        `update datasets set state = 'failed', error = $2, finished_at = now()
          where id = $1 and state in ('queued', 'building')`,
        [id, error],
      );
    },

    /** Cancels a build that has not finished; false when it already ended. */
    async cancel(buyerId: string, id: string): Promise<boolean> {
      const rows = await db.query(
        `update datasets set state = 'cancelled', finished_at = now()
          where id = $1 and buyer_id = $2 and state in ('queued', 'building') and deleted_at is null returning id`,
        [id, buyerId],
      );
      return rows.length > 0;
    },

    /** Marks a dataset deleted (its files are removed after); its id as stored, or null when it is not this buyer's. */
    async markDeleted(buyerId: string, id: string): Promise<string | null> {
      const [row] = await db.query<{ id: string }>(
        `update datasets set deleted_at = now(),
                state = case when state in ('queued', 'building') then 'cancelled' else state end
          where id = $1 and buyer_id = $2 and deleted_at is null returning id::text`,
        [id, buyerId],
      );
      return row?.id ?? null;
    },
  };
}
