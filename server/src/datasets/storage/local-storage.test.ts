import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatasetStorage } from './dataset-storage';
import { createLocalStorage } from './local-storage';
import { describeDatasetStorage, patterned } from './storage-suite';

let root: string;
let storage: DatasetStorage;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gleaner-local-storage-'));
  storage = createLocalStorage(root);
});

afterAll(async () => {
  await storage.close();
  await rm(root, { recursive: true, force: true });
});

describeDatasetStorage('local', () => storage);

describe('local storage on disk', () => {
  it('leaves no temporary file behind after a discarded or a finished write', async () => {
    const discarded = storage.openWriter('datasets/tidy/data/a.parquet');
    discarded.sink.write(patterned(1_000, 1));
    discarded.sink.destroy(new Error('stop'));
    await expect(discarded.done()).rejects.toThrow('stop');
    await storage.openWriter('datasets/tidy/data/b.parquet').done();
    expect(await readdir(join(root, 'datasets/tidy/data'))).toEqual(['b.parquet']);
  });

  it('keeps the ETag across a move (same bytes) and changes it on a rewrite of the same size', async () => {
    const writer = storage.openWriter('datasets/etag/staged');
    writer.sink.write(patterned(500, 1));
    await writer.done();
    const staged = await storage.stat('datasets/etag/staged');
    await storage.move('datasets/etag/staged', 'datasets/etag/final');
    expect(await storage.stat('datasets/etag/final')).toEqual(staged);
    const rewrite = storage.openWriter('datasets/etag/final');
    rewrite.sink.write(patterned(500, 2));
    await rewrite.done();
    expect((await storage.stat('datasets/etag/final'))?.etag).not.toBe(staged?.etag);
  });

  it('does not report a folder as a file', async () => {
    await storage.openWriter('datasets/folder/inside.json').done();
    expect(await storage.stat('datasets/folder')).toBeNull();
  });
});
