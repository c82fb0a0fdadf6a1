import { join } from 'node:path';
import { z } from 'zod';
import type { DatasetStorage } from './dataset-storage';
import { createLocalStorage } from './local-storage';
import { createS3Storage } from './s3-storage';

/** Where dataset files go, from the environment. */
export type StorageConfig =
  | { kind: 'local' }
  | { kind: 's3'; bucket: string; region: string; endpoint: string | undefined; forcePathStyle: boolean };

const storageEnvSchema = z
  .object({
    GLEANER_STORAGE: z.enum(['local', 's3']).default('local'),
    GLEANER_S3_BUCKET: z.string().trim().min(3, 'must be a bucket name').optional(),
    GLEANER_S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
    /** The SDK's own `AWS_REGION` is the fallback, then us-east-1 (what S3-compatible stores usually accept). */
    GLEANER_S3_REGION: z.string().trim().min(1).optional(),
    AWS_REGION: z.string().trim().min(1).optional(),
    GLEANER_S3_FORCE_PATH_STYLE: z
      .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
      .transform((value) => value === 'true' || value === '1')
      .optional(),
  })
  .superRefine((env, context) => {
    if (env.GLEANER_STORAGE === 's3' && !env.GLEANER_S3_BUCKET) {
      context.addIssue({ code: 'custom', path: ['GLEANER_S3_BUCKET'], message: 'is required when GLEANER_STORAGE=s3' });
    }
  });

/**
 * Reads the storage settings: `GLEANER_STORAGE=local|s3` (default local), and for s3 `GLEANER_S3_BUCKET`
 * (required), `GLEANER_S3_ENDPOINT`, `GLEANER_S3_REGION`, `GLEANER_S3_FORCE_PATH_STYLE` (default true when an
 * endpoint is set, as self-hosted stores expect). Credentials come from the SDK's standard variables
 * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, …). Throws naming every bad variable.
 */
export function loadStorageConfig(env: NodeJS.ProcessEnv = process.env): StorageConfig {
  const given = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = storageEnvSchema.safeParse(given);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new Error(`Invalid storage environment:\n${problems}`);
  }
  const value = parsed.data;
  if (value.GLEANER_STORAGE === 'local') return { kind: 'local' };
  return {
    kind: 's3',
    bucket: value.GLEANER_S3_BUCKET as string,
    region: value.GLEANER_S3_REGION ?? value.AWS_REGION ?? 'us-east-1',
    endpoint: value.GLEANER_S3_ENDPOINT,
    forcePathStyle: value.GLEANER_S3_FORCE_PATH_STYLE ?? value.GLEANER_S3_ENDPOINT !== undefined,
  };
}

/** The local folder dataset files go to when storage is local: `<dataDir>/datasets`. */
export const localStorageRoot = (dataDir: string) => join(dataDir, 'datasets');

/** The storage the config names: local disk under `<dataDir>/datasets`, or the S3 bucket. */
export function createDatasetStorage(config: StorageConfig, dataDir: string): DatasetStorage {
  if (config.kind === 'local') return createLocalStorage(localStorageRoot(dataDir));
  return createS3Storage({
    bucket: config.bucket,
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
  });
}
