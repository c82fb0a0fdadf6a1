import { randomBytes, randomUUID } from 'node:crypto';
import { type DatasetRowKind, rowHash } from '@protocol/dataset-rows';
import type { Dataset, DatasetCreate, DatasetUrls, RowProof } from '@protocol/datasets';
import { datasetCreateSchema } from '@protocol/datasets';
import { BaseError } from '@protocol/errors';
import type { Database } from '../db/database';
import { enqueue } from '../queue/work-queue';
import { buildDatasetKind, datasetFileKey, merkleTreeKey } from './dataset-build';
import { type DatasetRecord, datasetRepository, publicDataset } from './dataset-repository';
import type { DatasetSettings } from './dataset-settings';
import { signDownloadPath } from './download-urls';
import { proofFromTree } from './merkle';
import { readParquetRow } from './parquet-row-reader';

/** Attempts a build gets before it is marked failed (a restart mid-build costs one). */
const buildAttempts = 3;

const notFound = (id: string) => new BaseError('not_found', `No dataset ${id} for this buyer.`);

/** What buyers do with datasets; every call names the buyer, and another buyer's dataset is simply not found. */
export function datasetService(db: Database, settings: DatasetSettings) {
  const datasets = datasetRepository(db);

  const readyDataset = async (buyerId: string, id: string): Promise<DatasetRecord> => {
    const record = await datasets.findForBuyer(buyerId, id);
    if (!record) throw notFound(id);
    if (record.state !== 'ready') {
      throw new BaseError('conflict', `Dataset ${id} is ${record.state}: its files exist only once it is ready.`);
    }
    return record;
  };

  return {
    /** Creates a dataset and queues its build in the same transaction. */
    async create(buyerId: string, input: DatasetCreate): Promise<Dataset> {
      const request = datasetCreateSchema.parse(input);
      const source = request.source;
      const sourceId = source.kind === 'campaign' ? source.campaignId : source.projectId;
      const table = source.kind === 'campaign' ? 'campaigns' : 'projects';
      const [owned] = await db.query<{ name: string }>(`select name from ${table} where id = $1 and buyer_id = $2`, [
        sourceId,
        buyerId,
      ]);
      if (!owned) throw new BaseError('not_found', `No ${source.kind} ${sourceId} for this buyer.`);
      if (source.kind === 'project' && request.formats.includes('warc')) {
        throw new BaseError('bad_request', 'WARC holds web pages: a project dataset can be parquet or jsonl.');
      }
      // Parquet is always built: the Hugging Face layout and the row proofs rest on it.
      const formats = request.formats.includes('parquet') ? request.formats : ['parquet' as const, ...request.formats];
      const id = randomUUID();
      const name = request.name ?? `${owned.name} (${new Date().toISOString().slice(0, 10)})`;
      const record = await db.transaction(async (tx) => {
        const inserted = await datasetRepository(tx).insert({
          id,
          buyerId,
          name,
          source,
          formats,
          options: request.options,
          pseudonymKey: randomBytes(32).toString('hex'),
        });
        await enqueue(tx, buildDatasetKind, id, { datasetId: id }, { maxAttempts: buildAttempts });
        return inserted;
      });
      return publicDataset(record);
    },

    async list(buyerId: string, before: string | undefined, limit: number) {
      const page = await datasets.listForBuyer(buyerId, before, limit);
      return { datasets: page.datasets.map(publicDataset), next: page.next };
    },

    async get(buyerId: string, id: string): Promise<Dataset> {
      const record = await datasets.findForBuyer(buyerId, id);
      if (!record) throw notFound(id);
      return publicDataset(record);
    },

    /** Stops a build that has not finished; its staged files are removed by the build when it notices. */
    async cancel(buyerId: string, id: string): Promise<Dataset> {
      if (!(await datasets.cancel(buyerId, id))) {
        const record = await datasets.findForBuyer(buyerId, id);
        if (!record) throw notFound(id);
        throw new BaseError(
          'conflict',
          `Dataset ${id} is ${record.state}: only a queued or building dataset can be cancelled.`,
        );
      }
      return publicDataset((await datasets.findForBuyer(buyerId, id)) as DatasetRecord);
    },

    /** Deletes a dataset and its files; its URLs stop working at once. */
    async remove(buyerId: string, id: string): Promise<void> {
      const deleted = await datasets.markDeleted(buyerId, id);
      if (!deleted) throw notFound(id);
      await settings.storage.deletePrefix(`datasets/${deleted}`);
    },

    /** Pre-signed links to every file of a ready dataset, valid for `expiresIn` seconds. */
    async urls(buyerId: string, id: string, expiresIn: number, origin: string): Promise<DatasetUrls> {
      const record = await readyDataset(buyerId, id);
      const expiresAt = new Date(Date.now() + expiresIn * 1000);
      return {
        expiresAt: expiresAt.toISOString(),
        files: record.files.map((file) => ({
          path: file.path,
          url: `${origin}${signDownloadPath({ datasetId: record.id, path: file.path, expiresAt }, settings.urlSecret)}`,
        })),
      };
    },

    /** The storage key of a listed file of the buyer's ready dataset. */
    async fileKey(buyerId: string, id: string, path: string): Promise<string> {
      const record = await readyDataset(buyerId, id);
      if (!record.files.some((file) => file.path === path)) {
        throw new BaseError('not_found', `Dataset ${id} has no file ${path}.`);
      }
      return datasetFileKey(record.id, path);
    },

    /** Row `n` as published and its inclusion proof against the dataset's Merkle root. */
    async proof(buyerId: string, id: string, n: number): Promise<RowProof> {
      const record = await readyDataset(buyerId, id);
      const rows = record.stats?.rows ?? 0;
      if (n >= rows)
        throw new BaseError('not_found', `Dataset ${id} has ${rows} rows (0 to ${rows - 1}); no row ${n}.`);
      const kind: DatasetRowKind = record.source.kind === 'campaign' ? 'pages' : 'labels';
      let first = 0;
      const shard = record.files
        .filter((file) => file.kind === 'parquet')
        .find((file) => {
          if (n < first + (file.rows ?? 0)) return true;
          first += file.rows ?? 0;
          return false;
        });
      if (!shard) throw new Error(`dataset ${id} lists no shard holding row ${n}`);
      const values = await readParquetRow(
        settings.storage,
        datasetFileKey(record.id, shard.path),
        shard.bytes,
        n - first,
      );
      const proof = await proofFromTree(
        (offset, length) => settings.storage.readBytes(merkleTreeKey(record.id), offset, length),
        n,
      );
      return {
        row: n,
        rowHash: rowHash(kind, values as never),
        leaf: proof.leaf,
        proof: proof.proof,
        root: (record.merkleRoot ?? proof.root) as `0x${string}`,
        values,
      };
    },
  };
}
