import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  type DatasetStorage,
  InvalidStorageKeyError,
  type StorageWriter,
  StoredFileNotFoundError,
} from './dataset-storage';

/**
 * The behaviour every `DatasetStorage` promises, run against each implementation with real files or a real
 * S3-compatible server. `storage()` returns the instance under test (created in the caller's `beforeAll`).
 */
export function describeDatasetStorage(name: string, storage: () => DatasetStorage): void {
  describe(`${name} storage`, () => {
    let counter = 0;
    const freshKey = (file = 'data/train-00000-of-00001.parquet') =>
      `datasets/${process.pid}-${Date.now()}-${counter++}/${file}`;

    it('stores a streamed file and reports its size and SHA-256', async () => {
      const key = freshKey();
      const bytes = patterned(300_000, 1);
      const written = await writeChunks(storage().openWriter(key), split(bytes, 7_777));
      expect(written).toEqual({ bytes: bytes.length, sha256: sha256(bytes) });
      const info = await storage().stat(key);
      expect(info?.bytes).toBe(bytes.length);
      expect(info?.etag).toMatch(/^"[^"]+"$/);
      expect(Math.abs((info?.modifiedAt.getTime() ?? 0) - Date.now())).toBeLessThan(10 * 60_000);
      expect(Buffer.compare(await readAll(await storage().read(key)), bytes)).toBe(0);
    });

    it('stores an empty file', async () => {
      const key = freshKey('empty.jsonl.gz');
      const written = await storage().openWriter(key).done();
      expect(written).toEqual({ bytes: 0, sha256: sha256(Buffer.alloc(0)) });
      expect((await storage().stat(key))?.bytes).toBe(0);
      expect((await readAll(await storage().read(key))).length).toBe(0);
    });

    it('shows nothing at a key until the write is done, and the old file until an overwrite is done', async () => {
      const key = freshKey();
      const first = storage().openWriter(key);
      await write(first.sink, patterned(100_000, 2));
      expect(await storage().stat(key)).toBeNull();
      await first.done();
      const before = await storage().stat(key);

      const second = storage().openWriter(key);
      await write(second.sink, patterned(50_000, 3));
      expect(await storage().stat(key)).toEqual(before);
      expect(Buffer.compare(await readAll(await storage().read(key)), patterned(100_000, 2))).toBe(0);
      await second.done();

      const after = await storage().stat(key);
      expect(after?.bytes).toBe(50_000);
      expect(after?.etag).not.toBe(before?.etag);
      expect(await storage().stat(key)).toEqual(after);
    });

    it('discards a write whose sink is destroyed, and done() says so', async () => {
      const key = freshKey();
      const writer = storage().openWriter(key);
      await write(writer.sink, patterned(64_000, 4));
      writer.sink.destroy(new Error('the build failed'));
      await expect(writer.done()).rejects.toThrow('the build failed');
      expect(await storage().stat(key)).toBeNull();
    });

    it('reads inclusive ranges: the first byte, a middle slice, the last bytes, an end past the file', async () => {
      const key = freshKey();
      const bytes = patterned(10_000, 5);
      await writeChunks(storage().openWriter(key), [bytes]);
      const range = async (start: number, end: number) => readAll(await storage().read(key, { start, end }));
      expect(await range(0, 0)).toEqual(bytes.subarray(0, 1));
      expect(await range(1234, 5678)).toEqual(bytes.subarray(1234, 5679));
      expect(await range(9_990, 9_999)).toEqual(bytes.subarray(9_990));
      expect(await range(9_990, 50_000)).toEqual(bytes.subarray(9_990));
      await expect(storage().read(key, { start: 10_000, end: 10_005 })).rejects.toBeInstanceOf(RangeError);
      await expect(storage().read(key, { start: 5, end: 4 })).rejects.toBeInstanceOf(RangeError);
      await expect(storage().read(key, { start: -1, end: 4 })).rejects.toBeInstanceOf(RangeError);
    });

    it('reads exact small slices with readBytes and refuses slices past the end', async () => {
      const key = freshKey();
      const bytes = patterned(4_096, 6);
      await writeChunks(storage().openWriter(key), [bytes]);
      expect(Buffer.from(await storage().readBytes(key, 100, 32))).toEqual(bytes.subarray(100, 132));
      expect(Buffer.from(await storage().readBytes(key, 4_095, 1))).toEqual(bytes.subarray(4_095));
      await expect(storage().readBytes(key, 4_090, 10)).rejects.toBeInstanceOf(RangeError);
      await expect(storage().readBytes(key, 5_000, 1)).rejects.toBeInstanceOf(RangeError);
    });

    it('says a missing file is missing', async () => {
      const key = freshKey();
      expect(await storage().stat(key)).toBeNull();
      await expect(storage().read(key)).rejects.toBeInstanceOf(StoredFileNotFoundError);
      await expect(storage().read(key, { start: 0, end: 1 })).rejects.toBeInstanceOf(StoredFileNotFoundError);
      await expect(storage().readBytes(key, 0, 1)).rejects.toBeInstanceOf(StoredFileNotFoundError);
      await expect(storage().move(key, freshKey())).rejects.toBeInstanceOf(StoredFileNotFoundError);
    });

    it('moves a staged file into place, replacing what was there', async () => {
      const staged = freshKey('staging/train.parquet');
      const published = freshKey();
      await writeChunks(storage().openWriter(published), [patterned(1_000, 7)]);
      await writeChunks(storage().openWriter(staged), [patterned(2_000, 8)]);
      await storage().move(staged, published);
      expect(await storage().stat(staged)).toBeNull();
      expect(Buffer.compare(await readAll(await storage().read(published)), patterned(2_000, 8))).toBe(0);
    });

    it('deletes everything under a folder and nothing beside it that merely shares its name', async () => {
      const folder = `datasets/${process.pid}-${Date.now()}-${counter++}`;
      const inside = [`${folder}/README.md`, `${folder}/data/train-00000-of-00002.parquet`, `${folder}/data/x/y.json`];
      const beside = [`${folder}x/README.md`, `${folder}.json`];
      for (const key of [...inside, ...beside]) await writeChunks(storage().openWriter(key), [patterned(10, 9)]);
      await storage().deletePrefix(`${folder}/`);
      for (const key of inside) expect(await storage().stat(key)).toBeNull();
      for (const key of beside) expect(await storage().stat(key)).not.toBeNull();
      await storage().deletePrefix(folder); // nothing left: not an error
      await storage().deletePrefix(`${folder}x`);
      expect(await storage().stat(beside[0] as string)).toBeNull();
      expect(await storage().stat(beside[1] as string)).not.toBeNull();
    });

    it('deletes a folder of many files', async () => {
      const folder = `datasets/${process.pid}-${Date.now()}-${counter++}`;
      const keys = Array.from({ length: 205 }, (_, index) => `${folder}/part-${index}.json`);
      for (let index = 0; index < keys.length; index += 50) {
        await Promise.all(keys.slice(index, index + 50).map((key) => storage().openWriter(key).done()));
      }
      await storage().deletePrefix(folder);
      for (const key of [keys[0], keys[99], keys[204]]) expect(await storage().stat(key as string)).toBeNull();
    });

    it('refuses keys that could escape the root or name another object', async () => {
      const bad = [
        '',
        '/etc/passwd',
        '../outside',
        'datasets/../../outside',
        'datasets/./x',
        'datasets/a/..',
        'datasets\\a',
        'datasets/a\0b',
        'datasets/a\nb',
        'datasets//a',
        'datasets/a/',
        'a'.repeat(1025),
      ];
      for (const key of bad) {
        expect(() => storage().openWriter(key), key).toThrow(InvalidStorageKeyError);
        await expect(storage().stat(key), key).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage().read(key), key).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage().readBytes(key, 0, 1), key).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage().move(key, 'datasets/x'), key).rejects.toBeInstanceOf(InvalidStorageKeyError);
        await expect(storage().move('datasets/x', key), key).rejects.toBeInstanceOf(InvalidStorageKeyError);
      }
      for (const prefix of ['', '/', '..', 'datasets/../..', '/datasets', 'datasets//']) {
        await expect(storage().deletePrefix(prefix), prefix).rejects.toBeInstanceOf(InvalidStorageKeyError);
      }
    });

    it('streams a 96 MB file through without holding it in memory', async () => {
      const key = freshKey();
      // Large enough that holding it would stand far above what a streamed write holds (one S3 part of 5 MB,
      // s3rver's own buffers in this process, the collector's slack: 16-29 MB measured under load).
      const size = 96 * 1024 * 1024;
      const chunkSize = 256 * 1024;
      const writer = storage().openWriter(key);
      const expected = createHash('sha256');
      collectGarbage();
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      for (let offset = 0, index = 0; offset < size; offset += chunkSize, index++) {
        // A fresh buffer per chunk, as a real producer makes: holding them would show in RSS.
        const chunk = patterned(chunkSize, index);
        expected.update(chunk);
        if (!writer.sink.write(chunk)) await once(writer.sink, 'drain');
        // Collect now and then, so RSS counts what is still held rather than garbage not yet collected.
        if (index % 16 === 15) collectGarbage();
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      const written = await writer.done();
      expect(written).toEqual({ bytes: size, sha256: expected.digest('hex') });
      expect((await storage().stat(key))?.bytes).toBe(size);

      const read = createHash('sha256');
      let readBytes = 0;
      for await (const chunk of await storage().read(key)) {
        read.update(chunk as Buffer);
        readBytes += (chunk as Buffer).length;
        if (readBytes % (4 * 1024 * 1024) < (chunk as Buffer).length) collectGarbage();
        peak = Math.max(peak, process.memoryUsage().rss);
      }
      expect(readBytes).toBe(size);
      expect(read.digest('hex')).toBe(written.sha256);
      const growth = peak - baseline;
      console.info(`${name}: RSS grew ${(growth / 1024 / 1024).toFixed(1)} MB while writing and reading 96 MB`);
      // Holding the file would take at least its size; a streamed write stays far below, with room for a loaded machine.
      expect(growth).toBeLessThan(size * 0.75);
    });
  });
}

/** Deterministic bytes that differ by `seed`, so a misplaced slice shows. */
export function patterned(length: number, seed: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  let state = (seed * 2_654_435_761) >>> 0 || 1;
  for (let index = 0; index < length; index++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    bytes[index] = state & 0xff;
  }
  return bytes;
}

/** A full garbage collection, through V8's `gc` exposed at run time (vitest is not started with --expose-gc). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function split(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.subarray(offset, offset + size));
  return chunks;
}

async function write(sink: StorageWriter['sink'], chunk: Buffer): Promise<void> {
  if (!sink.write(chunk)) await once(sink, 'drain');
}

async function writeChunks(writer: StorageWriter, chunks: Buffer[]) {
  for (const chunk of chunks) await write(writer.sink, chunk);
  return writer.done();
}

/** Reads a whole stream (test files are small, except where a test hashes instead). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
