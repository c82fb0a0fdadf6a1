import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type Readable, Writable } from 'node:stream';
import {
  assertValidKey,
  assertValidPrefix,
  assertValidRange,
  assertValidSlice,
  type ByteRange,
  type DatasetStorage,
  type StorageWriter,
  type StoredFileInfo,
  StoredFileNotFoundError,
} from './dataset-storage';
import { whenStored } from './when-stored';

/** Writes are buffered up to this much before `write()` asks the producer to wait. */
const writeHighWaterMark = 1024 * 1024;

/**
 * Dataset files in a folder on local disk (`<GLEANER_DATA_DIR>/datasets`). A file is written to a temporary
 * name beside its key, flushed to disk, then renamed over the key, so readers see the old file or the new one,
 * never half of one.
 */
export function createLocalStorage(root: string): DatasetStorage {
  const pathOf = (key: string) => join(root, assertValidKey(key));

  async function openExisting(key: string): Promise<FileHandle> {
    try {
      return await open(pathOf(key), 'r');
    } catch (error) {
      if (isMissing(error)) throw new StoredFileNotFoundError(key);
      throw error;
    }
  }

  return {
    kind: 'local',

    openWriter(key: string): StorageWriter {
      return openLocalWriter(pathOf(key));
    },

    async stat(key: string): Promise<StoredFileInfo | null> {
      try {
        const info = await stat(pathOf(key), { bigint: true });
        if (!info.isFile()) return null;
        return { bytes: Number(info.size), etag: localEtag(info), modifiedAt: new Date(Number(info.mtimeMs)) };
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },

    async read(key: string, range?: ByteRange): Promise<Readable> {
      if (range) assertValidRange(range);
      const handle = await openExisting(key);
      try {
        if (range) {
          const { size } = await handle.stat();
          if (range.start >= size) throw new RangeError(`Range starts at ${range.start}, past the ${size}-byte file`);
        }
        // The stream owns the handle from here and closes it when it ends or is destroyed.
        return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
      } catch (error) {
        await handle.close();
        throw error;
      }
    },

    async readBytes(key: string, offset: number, length: number): Promise<Uint8Array> {
      assertValidSlice(offset, length);
      const handle = await openExisting(key);
      try {
        const buffer = Buffer.alloc(length);
        let filled = 0;
        while (filled < length) {
          const { bytesRead } = await handle.read(buffer, filled, length - filled, offset + filled);
          if (bytesRead === 0) throw new RangeError(`${key} ends before byte ${offset + length}`);
          filled += bytesRead;
        }
        return new Uint8Array(buffer.buffer, buffer.byteOffset, length);
      } finally {
        await handle.close();
      }
    },

    async move(from: string, to: string): Promise<void> {
      const source = pathOf(from);
      const target = pathOf(to);
      await mkdir(dirname(target), { recursive: true });
      try {
        await rename(source, target);
      } catch (error) {
        if (isMissing(error)) throw new StoredFileNotFoundError(from);
        throw error;
      }
    },

    async deletePrefix(prefix: string): Promise<void> {
      await rm(join(root, assertValidPrefix(prefix)), { recursive: true, force: true });
    },

    async close(): Promise<void> {},
  };
}

/**
 * The ETag of a local file: its inode, size and modification time in nanoseconds. It is strong because a
 * stored file is never changed in place: every write goes to a new file renamed over the key, which gives a new
 * inode and a new mtime, so equal tags mean equal bytes. Hashing the content instead would cost a full read
 * per `stat` (or a sidecar file to keep in step); a move keeps all three, as it keeps the bytes.
 */
function localEtag(info: { ino: bigint; size: bigint; mtimeNs: bigint }): string {
  return `"${info.ino.toString(36)}-${info.size.toString(36)}-${info.mtimeNs.toString(36)}"`;
}

function openLocalWriter(target: string): StorageWriter {
  // Beside the target so the final rename stays on one file system; the random part keeps two writers apart.
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.partial`);
  const hash = createHash('sha256');
  let bytes = 0;
  let handle: FileHandle | undefined;

  const sink = new Writable({
    highWaterMark: writeHighWaterMark,
    construct(callback) {
      mkdir(dirname(target), { recursive: true })
        .then(() => open(temporary, 'wx'))
        .then((opened) => {
          handle = opened;
          callback();
        }, callback);
    },
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      writeAll(handle as FileHandle, chunk).then(() => callback(), callback);
    },
    writev(chunks, callback) {
      const joined = Buffer.concat(chunks.map(({ chunk }) => chunk as Buffer));
      hash.update(joined);
      bytes += joined.length;
      writeAll(handle as FileHandle, joined).then(() => callback(), callback);
    },
    final(callback) {
      const opened = handle as FileHandle;
      // Flush before the rename: after a crash the key must hold the whole file or the previous one.
      opened
        .datasync()
        .then(() => opened.close())
        .then(() => {
          handle = undefined;
          return rename(temporary, target);
        })
        .then(() => callback(), callback);
    },
    destroy(error, callback) {
      const opened = handle;
      handle = undefined;
      if (this.writableFinished) return callback(error);
      // Anything short of a finished write leaves no trace: close and remove the temporary file.
      Promise.resolve(opened?.close())
        .catch(() => {})
        .then(() => unlink(temporary).catch(() => {}))
        .then(() => callback(error));
    },
  });

  return { sink, done: whenStored(sink, () => ({ bytes, sha256: hash.digest('hex') })) };
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let written = 0;
  while (written < chunk.length) {
    const { bytesWritten } = await handle.write(chunk, written, chunk.length - written);
    written += bytesWritten;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
