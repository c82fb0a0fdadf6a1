import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { canonicalRowJson, type DatasetRowKind, type LabelRow, type PageRow } from '@protocol/dataset-rows';
import type { DatasetFile, DatasetStats } from '@protocol/datasets';
import { keccak256, stringToBytes } from 'viem';
import type { Database } from '../db/database';
import type { WorkLog } from '../queue/work-queue';
import { serverVersion } from '../version';
import { buildCroissant } from './croissant';
import { buildDatasetCard } from './dataset-card';
import type { DatasetDescription } from './dataset-description';
import { type DatasetRecord, datasetRepository } from './dataset-repository';
import type { DatasetSettings } from './dataset-settings';
import { snapshotItems, snapshotPages, takeSnapshot } from './dataset-snapshot';
import { createJsonlGzWriter } from './jsonl-writer';
import { MerkleTreeBuilder } from './merkle';
import { NearDuplicateIndex } from './near-duplicates';
import { createParquetWriter, type ParquetWriter } from './parquet-writer';
import { emptyStats, itemKept, pageDropReason, toLabelRow, toPageRow } from './row-cleaning';
import { destroySink } from './sink-writes';
import type { StorageWriter } from './storage/dataset-storage';
import { createWarcWriter } from './warc-writer';

/**
 * Builds one dataset, as a durable work item (kind `build_dataset`, key: the dataset id). It may run more
 * than once (a retry, or a takeover after its process died): the snapshot is taken once and kept, and every
 * run writes its files afresh under the dataset's staging folder, so a run never depends on a dead one's
 * files. Files reach their final keys only at the end, and the dataset lists them (and so serves them) only
 * in the one update that makes it ready: a half-built dataset is never visible.
 *
 * Pages are read twice, in source order and a batch at a time: the first pass decides which pages are kept
 * (filters, exact and near duplicates) and the near-duplicate clusters, the second writes the kept rows to
 * every format at once. Nothing holds more than a batch of rows; the near-duplicate index holds a small
 * sketch per kept page.
 */

/** The work item kind of dataset builds. */
export const buildDatasetKind = 'build_dataset';

/** Final key of a dataset's file. */
export const datasetFileKey = (datasetId: string, path: string) => `datasets/${datasetId}/${path}`;
/** Key of the stored Merkle tree file that row proofs are read from. */
export const merkleTreeKey = (datasetId: string) => `datasets/${datasetId}/provenance/merkle-tree.bin`;
const stagingPrefix = (datasetId: string) => `datasets/${datasetId}/staging`;

/** Thrown when the dataset stopped being built (cancelled or deleted) while this run worked. */
class BuildStopped extends Error {
  override name = 'BuildStopped';
}

export interface BuildContext {
  attempt: number;
  maxAttempts: number;
  log: WorkLog;
}

/** Runs (or re-runs) a dataset's build; marks it failed with the reason on the last attempt. */
export async function buildDataset(
  db: Database,
  datasetId: string,
  settings: DatasetSettings,
  context: BuildContext,
): Promise<void> {
  const datasets = datasetRepository(db);
  if (!(await datasets.startBuilding(datasetId))) return;
  const record = await datasets.findById(datasetId);
  if (!record) return;
  const scratch = join(settings.scratchDir, `${datasetId}-${process.pid}-${context.attempt}`);
  try {
    await mkdir(scratch, { recursive: true });
    await settings.storage.deletePrefix(stagingPrefix(datasetId));
    await runBuild(db, record, settings, scratch);
  } catch (error) {
    await settings.storage.deletePrefix(stagingPrefix(datasetId)).catch(() => undefined);
    if (error instanceof BuildStopped) {
      context.log.info({ datasetId }, 'dataset build stopped: the dataset was cancelled or deleted');
      await settings.storage.deletePrefix(`datasets/${datasetId}`).catch(() => undefined);
      return;
    }
    if (context.attempt >= context.maxAttempts) {
      const reason = error instanceof Error ? error.message : String(error);
      context.log.error({ datasetId, err: error }, 'dataset build failed for good');
      await datasets.fail(datasetId, `The build failed after ${context.attempt} attempts: ${reason}`);
      return;
    }
    throw error;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function runBuild(db: Database, record: DatasetRecord, settings: DatasetSettings, scratch: string) {
  const datasets = datasetRepository(db);
  const id = record.id;
  let sourceRows = record.progress.rowsTotal ?? 0;
  let snapshotAt = record.snapshotAt ? new Date(record.snapshotAt) : null;
  if (snapshotAt === null) {
    await datasets.setProgress(id, 'snapshot', 0, null);
    const taken = await db.transaction(async (tx) => {
      const snapshot = await takeSnapshot(tx, id, record.source, record.options);
      await datasetRepository(tx).setSnapshotTaken(id, snapshot.snapshotAt, snapshot.sourceRows);
      return snapshot;
    });
    snapshotAt = taken.snapshotAt;
    sourceRows = taken.sourceRows;
  }
  const kind: DatasetRowKind = record.source.kind === 'campaign' ? 'pages' : 'labels';
  const stats = { ...emptyStats(), sourceRows };
  let lastCheckpoint = 0;
  /** Records progress and stops a cancelled build; `force`, or at most every `progressIntervalMs`. */
  const checkpoint = async (phase: string, done: number, force = true) => {
    if (!force && Date.now() - lastCheckpoint < settings.progressIntervalMs) return;
    lastCheckpoint = Date.now();
    if (!(await datasets.isStillBuilding(id))) throw new BuildStopped();
    await datasets.setProgress(id, phase, done, sourceRows);
  };

  const clusters = kind === 'pages' ? await decidePages(db, record, settings, stats, checkpoint) : null;
  const output = await openOutputs({ ...record, snapshotAt: snapshotAt.toISOString() }, settings, kind, scratch);
  try {
    await writeRows(db, record, settings, kind, output, clusters, stats, checkpoint);
  } catch (error) {
    // Close every file this run opened (a cancel, a failed write): nothing is left open on a deleted file.
    await output.abort(error);
    throw error;
  }
  await checkpoint('publishing', stats.sourceRows);
  const written = await output.finish();
  stats.rows = written.rows;

  const files: DatasetFile[] = written.files;
  const source = await sourceName(db, record);
  const cardInput: DatasetDescription = {
    id,
    name: record.name,
    source: { kind: record.source.kind, id: source.id, name: source.name },
    options: record.options,
    stats,
    files,
    merkleRoot: written.merkleRoot,
    snapshotAt: snapshotAt.toISOString(),
    serverVersion,
    publicBaseUrl: null,
  };
  const card = await writeStaged(settings, id, 'README.md', buildDatasetCard(cardInput));
  const croissant = await writeStaged(
    settings,
    id,
    'croissant.json',
    `${JSON.stringify(buildCroissant(cardInput), null, 2)}\n`,
  );
  const allFiles: DatasetFile[] = [
    ...files,
    { path: 'README.md', kind: 'card', bytes: card.bytes, rows: null, sha256: card.sha256 },
    { path: 'croissant.json', kind: 'croissant', bytes: croissant.bytes, rows: null, sha256: croissant.sha256 },
  ];
  if (!(await datasets.isStillBuilding(id))) throw new BuildStopped();
  for (const file of [...allFiles.map((file) => file.path), written.treePath]) {
    await settings.storage.move(`${stagingPrefix(id)}/${file}`, datasetFileKey(id, file));
  }
  const published = await datasets.publish(id, {
    files: allFiles,
    merkleRoot: written.merkleRoot,
    stats,
    rows: written.rows,
  });
  if (!published) throw new BuildStopped();
}

/** Second pass: every kept row, in order, to every format at once. */
async function writeRows(
  db: Database,
  record: DatasetRecord,
  settings: DatasetSettings,
  kind: DatasetRowKind,
  output: Outputs,
  clusters: PageDecisions | null,
  stats: DatasetStats,
  checkpoint: (phase: string, done: number, force?: boolean) => Promise<void>,
): Promise<void> {
  const id = record.id;
  let rowsSeen = 0;
  let rowsOut = 0;
  await checkpoint('writing', 0);
  if (kind === 'pages' && clusters) {
    for await (const batch of snapshotPages(db, id, settings.batchSize, record.options.includeRawHtml)) {
      const rows: PageRow[] = [];
      for (const page of batch) {
        rowsSeen += 1;
        if (pageDropReason(page, record.options) !== null || clusters.removed.has(page.id)) continue;
        rows.push(
          toPageRow(page, record.options, {
            datasetKey: record.pseudonymKey,
            nearDupCluster: clusters.clusterOfRow(rowsOut),
            stats,
          }),
        );
        rowsOut += 1;
      }
      await output.write(rows);
      await checkpoint('writing', rowsSeen, false);
    }
  } else {
    for await (const batch of snapshotItems(db, id, settings.batchSize)) {
      const rows: LabelRow[] = [];
      for (const item of batch) {
        rowsSeen += 1;
        if (!itemKept(item, record.options)) {
          stats.notVerified += 1;
          continue;
        }
        rows.push(toLabelRow(item, record.pseudonymKey));
      }
      await output.write(rows);
      await checkpoint('writing', rowsSeen, false);
    }
  }
}

interface PageDecisions {
  /** Near duplicates of an earlier kept page, left out (only when the option is on). */
  removed: Set<number>;
  /** The near-duplicate cluster of output row n (null when none, and always when near duplicates are removed). */
  clusterOfRow: (row: number) => number | null;
}

/**
 * First pass over the pages: which are kept, and the near-duplicate clusters, counted in `stats`. A cluster's
 * id is the row number of its first row, known only once its second member is seen: hence this pass before
 * any row is written. With near duplicates kept, the index's rows are the output rows one for one.
 */
async function decidePages(
  db: Database,
  record: DatasetRecord,
  settings: DatasetSettings,
  stats: DatasetStats,
  checkpoint: (phase: string, done: number, force?: boolean) => Promise<void>,
): Promise<PageDecisions> {
  const index = new NearDuplicateIndex();
  const removed = new Set<number>();
  const removing = record.options.removeNearDuplicates;
  let indexed = 0;
  let seen = 0;
  await checkpoint('cleaning', 0);
  for await (const batch of snapshotPages(db, record.id, settings.batchSize, false)) {
    for (const page of batch) {
      seen += 1;
      const reason = pageDropReason(page, record.options);
      if (reason !== null) {
        stats[reason] += 1;
        continue;
      }
      const decision = index.add(indexed, page.text);
      indexed += 1;
      if (decision.duplicate && removing) {
        stats.nearDuplicates += 1;
        removed.add(page.id);
      }
    }
    await checkpoint('cleaning', seen, false);
  }
  return { removed, clusterOfRow: (row) => (removing ? null : index.clusterOf(row)) };
}

interface Outputs {
  write(rows: readonly (PageRow | LabelRow)[]): Promise<void>;
  /** Destroys every file being written (their partial bytes are discarded) and closes the tree file. */
  abort(reason: unknown): Promise<void>;
  finish(): Promise<{ files: DatasetFile[]; rows: number; merkleRoot: `0x${string}`; treePath: string }>;
}

/** Opens every format's writer and the Merkle tree; rows written go to all of them in the same order. */
async function openOutputs(
  record: DatasetRecord,
  settings: DatasetSettings,
  kind: DatasetRowKind,
  scratch: string,
): Promise<Outputs> {
  const id = record.id;
  const storage = settings.storage;
  const staged = (path: string) => `${stagingPrefix(id)}/${path}`;
  const tree = await MerkleTreeBuilder.create(join(scratch, 'merkle-tree.bin'));
  const shards: Array<{ tempPath: string; rows: number; bytes: number; sha256: string }> = [];
  let shard: { writer: ParquetWriter; storage: StorageWriter; tempPath: string; rowBytes: number } | null = null;
  const openShard = () => {
    const tempPath = `data/part-${String(shards.length).padStart(5, '0')}.parquet`;
    const target = storage.openWriter(staged(tempPath));
    return {
      writer: createParquetWriter(kind, target.sink, { rowGroupBytes: settings.rowGroupBytes }),
      storage: target,
      tempPath,
      rowBytes: 0,
    };
  };
  const closeShard = async () => {
    if (!shard) return;
    const summary = await shard.writer.close();
    const stored = await shard.storage.done();
    shards.push({ tempPath: shard.tempPath, rows: summary.rows, bytes: stored.bytes, sha256: stored.sha256 });
    shard = null;
  };
  const jsonl = record.formats.includes('jsonl') ? storage.openWriter(staged('jsonl/train.jsonl.gz')) : null;
  const jsonlWriter = jsonl ? createJsonlGzWriter(kind, jsonl.sink) : null;
  const warc =
    kind === 'pages' && record.formats.includes('warc') ? storage.openWriter(staged('warc/pages.warc.gz')) : null;
  const cdxj = warc ? storage.openWriter(staged('warc/pages.cdxj')) : null;
  const warcWriter =
    warc && cdxj
      ? createWarcWriter(warc.sink, {
          datasetId: id,
          software: `Gleaner ${serverVersion}`,
          filename: 'pages.warc.gz',
          createdAt: record.snapshotAt ?? undefined,
          cdxjSink: cdxj.sink,
          tempDirectory: scratch,
        })
      : null;
  let rows = 0;

  return {
    async write(batch) {
      if (batch.length === 0) return;
      let batchBytes = 0;
      for (const row of batch) {
        // The canonical JSON is what the row hash commits to, and its size bounds the row's compressed size.
        const json = canonicalRowJson(kind, row);
        batchBytes += Buffer.byteLength(json);
        await tree.append(keccak256(stringToBytes(json)));
      }
      // A shard closes before the rows it holds, uncompressed, would pass the limit. What the Parquet writer
      // has flushed lags far behind what it holds (a row group is written whole at its end), so only the
      // uncompressed size is a bound that no shard can outgrow; compressed, shards come out smaller.
      if (shard && shard.rowBytes > 0 && shard.rowBytes + batchBytes > settings.shardBytes) await closeShard();
      shard ??= openShard();
      shard.rowBytes += batchBytes;
      await shard.writer.writeRows(batch);
      await jsonlWriter?.writeRows(batch);
      if (warcWriter) for (const row of batch) await warcWriter.writePage(row as PageRow);
      rows += batch.length;
    },
    async abort(reason) {
      for (const target of [shard?.storage, jsonl, warc, cdxj]) if (target) destroySink(target.sink, reason);
      await tree.abort();
    },
    async finish() {
      // An empty dataset still has one (empty) shard, so every reader finds the schema.
      shard ??= openShard();
      await closeShard();
      const files: DatasetFile[] = [];
      for (const [index, written] of shards.entries()) {
        const path = `data/train-${String(index).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.parquet`;
        await storage.move(staged(written.tempPath), staged(path));
        files.push({ path, kind: 'parquet', bytes: written.bytes, rows: written.rows, sha256: written.sha256 });
      }
      if (jsonl && jsonlWriter) {
        const summary = await jsonlWriter.close();
        const stored = await jsonl.done();
        files.push({
          path: 'jsonl/train.jsonl.gz',
          kind: 'jsonl',
          bytes: stored.bytes,
          rows: summary.rows,
          sha256: stored.sha256,
        });
      }
      if (warc && cdxj && warcWriter) {
        const summary = await warcWriter.close();
        const storedWarc = await warc.done();
        const storedCdxj = await cdxj.done();
        files.push(
          {
            path: 'warc/pages.warc.gz',
            kind: 'warc',
            bytes: storedWarc.bytes,
            rows: summary.records,
            sha256: storedWarc.sha256,
          },
          {
            path: 'warc/pages.cdxj',
            kind: 'cdxj',
            bytes: storedCdxj.bytes,
            rows: summary.cdxjLines,
            sha256: storedCdxj.sha256,
          },
        );
      }
      const { root } = await tree.finish();
      const treePath = 'provenance/merkle-tree.bin';
      const treeTarget = storage.openWriter(staged(treePath));
      await pipeline(createReadStream(tree.path), treeTarget.sink);
      await treeTarget.done();
      return { files, rows, merkleRoot: root, treePath };
    },
  };
}

/** Writes a small staged file (the card, the Croissant file). */
async function writeStaged(settings: DatasetSettings, datasetId: string, path: string, text: string) {
  const target = settings.storage.openWriter(`${stagingPrefix(datasetId)}/${path}`);
  target.sink.end(Buffer.from(text, 'utf8'));
  return target.done();
}

async function sourceName(db: Database, record: DatasetRecord): Promise<{ id: string; name: string }> {
  const id = record.source.kind === 'campaign' ? record.source.campaignId : record.source.projectId;
  const table = record.source.kind === 'campaign' ? 'campaigns' : 'projects';
  const [row] = await db.query<{ name: string }>(`select name from ${table} where id = $1`, [id]);
  return { id, name: row?.name ?? id };
}
