import { describe, expect, it } from 'vitest';
import { createDatasetStorage, loadStorageConfig } from './storage-config';

describe('storage config', () => {
  it('defaults to local disk under <dataDir>/datasets', async () => {
    expect(loadStorageConfig({})).toEqual({ kind: 'local' });
    expect(loadStorageConfig({ GLEANER_STORAGE: '' })).toEqual({ kind: 'local' });
    const storage = createDatasetStorage({ kind: 'local' }, '/tmp/gleaner-config-test');
    expect(storage.kind).toBe('local');
    await storage.close();
  });

  it('reads the S3 settings, with path-style addressing by default for a custom endpoint', () => {
    expect(
      loadStorageConfig({
        GLEANER_STORAGE: 's3',
        GLEANER_S3_BUCKET: 'datasets',
        GLEANER_S3_ENDPOINT: 'http://minio:9000',
      }),
    ).toEqual({
      kind: 's3',
      bucket: 'datasets',
      region: 'us-east-1',
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
    });
    expect(
      loadStorageConfig({
        GLEANER_STORAGE: 's3',
        GLEANER_S3_BUCKET: 'datasets',
        AWS_REGION: 'eu-west-3',
        GLEANER_S3_FORCE_PATH_STYLE: 'false',
      }),
    ).toEqual({ kind: 's3', bucket: 'datasets', region: 'eu-west-3', endpoint: undefined, forcePathStyle: false });
  });

  it('names every bad variable', () => {
    expect(() => loadStorageConfig({ GLEANER_STORAGE: 's3' })).toThrow(/GLEANER_S3_BUCKET: is required/);
    expect(() => loadStorageConfig({ GLEANER_STORAGE: 'ftp' })).toThrow(/GLEANER_STORAGE/);
    expect(() =>
      loadStorageConfig({
        GLEANER_STORAGE: 's3',
        GLEANER_S3_BUCKET: 'b1b',
        GLEANER_S3_ENDPOINT: 'minio:9000',
        GLEANER_S3_FORCE_PATH_STYLE: 'yes',
      }),
    ).toThrow(
      /GLEANER_S3_ENDPOINT[\s\S]*GLEANER_S3_FORCE_PATH_STYLE|GLEANER_S3_FORCE_PATH_STYLE[\s\S]*GLEANER_S3_ENDPOINT/,
    );
  });
});
