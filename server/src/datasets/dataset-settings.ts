import { join } from 'node:path';
import { z } from 'zod';
import { loadOrCreateUrlSecret } from './download-urls';
import { defaultRowGroupBytes } from './parquet-writer';
import type { DatasetStorage } from './storage/dataset-storage';
import { createDatasetStorage, loadStorageConfig } from './storage/storage-config';

/** What dataset builds and downloads need: where files go, the download-URL key, and the build's sizes. */
export interface DatasetSettings {
  storage: DatasetStorage;
  /** Key of the pre-signed download URLs (HMAC-SHA256). */
  urlSecret: string;
  /** A local folder for a build's scratch files (the Merkle tree before it is stored). */
  scratchDir: string;
  /** A Parquet shard is closed before it grows past this (Hugging Face advises at most about 500 MB). */
  shardBytes: number;
  /** The Parquet writer's row-group bound (see parquet-writer.ts for what it bounds). */
  rowGroupBytes: number;
  /** Rows read from the database per query while building. */
  batchSize: number;
  /** How often (ms) the build records its progress and checks it was not cancelled: at most once per batch. */
  progressIntervalMs: number;
}

/** Build sizes for production: ~400 MB shards, the Parquet writer's row groups, 500 rows per read, progress twice a second. */
export const defaultBuildSizes = {
  shardBytes: 400 * 1024 * 1024,
  rowGroupBytes: defaultRowGroupBytes,
  batchSize: 500,
  progressIntervalMs: 500,
} as const;

const envSchema = z.object({
  /** Rows read from the database per query while building (smaller: less memory, more queries). */
  GLEANER_DATASET_BATCH_ROWS: z.coerce.number().int().min(1).max(100_000).optional(),
  /** Largest Parquet shard, in MB (Hugging Face advises at most about 500). */
  GLEANER_DATASET_SHARD_MB: z.coerce.number().int().min(1).max(5_000).optional(),
  /** The Parquet row-group bound in MB. */
  GLEANER_DATASET_ROW_GROUP_MB: z.coerce.number().int().min(1).max(1_024).optional(),
});

/**
 * Dataset settings of a server: storage from `GLEANER_STORAGE` (local files under `<dataDir>/datasets`, or
 * S3), the URL key from `GLEANER_URL_SECRET` or the data folder, and the build sizes. Throws naming every bad
 * variable.
 */
export async function loadDatasetSettings(env: NodeJS.ProcessEnv, dataDir: string): Promise<DatasetSettings> {
  const parsed = envSchema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')));
  if (!parsed.success) {
    throw new Error(
      `Invalid environment:\n${parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n')}`,
    );
  }
  const value = parsed.data;
  const megabytes = (count: number | undefined, fallback: number) =>
    count === undefined ? fallback : count * 1024 * 1024;
  return {
    storage: createDatasetStorage(loadStorageConfig(env), dataDir),
    urlSecret: await loadOrCreateUrlSecret(dataDir, env.GLEANER_URL_SECRET),
    scratchDir: join(dataDir, 'dataset-scratch'),
    shardBytes: megabytes(value.GLEANER_DATASET_SHARD_MB, defaultBuildSizes.shardBytes),
    rowGroupBytes: megabytes(value.GLEANER_DATASET_ROW_GROUP_MB, defaultBuildSizes.rowGroupBytes),
    batchSize: value.GLEANER_DATASET_BATCH_ROWS ?? defaultBuildSizes.batchSize,
    progressIntervalMs: defaultBuildSizes.progressIntervalMs,
  };
}
