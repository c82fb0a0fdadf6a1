import type { Readable, Writable } from 'node:stream';

/**
 * Where dataset files live: local disk by default, any S3-compatible object store in production.
 * Keys are relative, slash-separated paths such as `datasets/<uuid>/data/train-00000-of-00001.parquet`;
 * every implementation checks them with `assertValidKey` before touching anything.
 */
export interface DatasetStorage {
  /** `local` or `s3`, for logs and the health page. */
  readonly kind: 'local' | 's3';
  /**
   * Starts writing `key`. Write to `sink` (respecting back-pressure), then call `done()`: it ends the sink if
   * the caller has not and resolves once the file is stored whole at `key`. Until then readers see the old file
   * or none. Destroying the sink (or a failed write) discards everything written and `done()` rejects.
   */
  openWriter(key: string): StorageWriter;
  /** Size, strong ETag and modification time of `key`, or null when there is no such file. */
  stat(key: string): Promise<StoredFileInfo | null>;
  /**
   * Streams `key`, or its bytes `range.start..range.end` (both inclusive; an end past the file is clamped).
   * Rejects with `StoredFileNotFoundError` when there is no such file and `RangeError` when the range starts
   * at or after the end of the file.
   */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** Exactly `length` bytes of `key` from `offset`, for small random reads; `RangeError` if they pass the end. */
  readBytes(key: string, offset: number, length: number): Promise<Uint8Array>;
  /** Moves `from` to `to`, replacing any file there (publishing a staged file). */
  move(from: string, to: string): Promise<void>;
  /** Deletes every file under the folder `prefix` (`datasets/<uuid>` and `datasets/<uuid>/` mean the same). */
  deletePrefix(prefix: string): Promise<void>;
  /** Releases connections; the storage is unusable afterwards. */
  close(): Promise<void>;
}

/** An inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/** What `stat` knows of a stored file. */
export interface StoredFileInfo {
  bytes: number;
  /** A strong validator, quoted as HTTP wants it (`"…"`): it changes whenever the bytes may have. */
  etag: string;
  modifiedAt: Date;
}

/** A file being written: push bytes into `sink`, then await `done()`. */
export interface StorageWriter {
  sink: Writable;
  done(): Promise<WrittenFile>;
}

/** What `done()` reports about the stored file: its size and the SHA-256 of its bytes (lower-case hex). */
export interface WrittenFile {
  bytes: number;
  sha256: string;
}

/** Thrown (or rejected with) when a key names no stored file. */
export class StoredFileNotFoundError extends Error {
  override name = 'StoredFileNotFoundError';
  constructor(readonly key: string) {
    super(`No stored file at ${key}`);
  }
}

/** Thrown for a key that could escape the storage root or mean different files on different stores. */
export class InvalidStorageKeyError extends Error {
  override name = 'InvalidStorageKeyError';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`Invalid storage key ${JSON.stringify(key)}: ${reason}`);
  }
}

/**
 * Checks a storage key and returns it. Refused: empty keys, a leading `/`, backslashes, NUL and other control
 * characters, empty segments (`a//b`, a trailing `/`), `.` and `..` segments, and keys over 1024 bytes (S3's
 * limit). On local disk any of these could reach outside the root; on S3 they would name a different object.
 */
export function assertValidKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidStorageKeyError(String(key), 'it is empty');
  if (key.startsWith('/')) throw new InvalidStorageKeyError(key, 'it starts with /');
  if (key.includes('\\')) throw new InvalidStorageKeyError(key, 'it contains a backslash');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f]/.test(key)) throw new InvalidStorageKeyError(key, 'it contains a control character');
  if (Buffer.byteLength(key) > 1024) throw new InvalidStorageKeyError(key, 'it is longer than 1024 bytes');
  for (const segment of key.split('/')) {
    if (segment === '') throw new InvalidStorageKeyError(key, 'it has an empty segment');
    if (segment === '.' || segment === '..') throw new InvalidStorageKeyError(key, `it has a ${segment} segment`);
  }
  return key;
}

/** Checks a folder prefix for `deletePrefix` and returns it without a trailing slash. */
export function assertValidPrefix(prefix: string): string {
  const folder = typeof prefix === 'string' && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return assertValidKey(folder);
}

/** Checks a range for `read`: whole non-negative numbers with `start <= end`. */
export function assertValidRange(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw new RangeError(`Invalid byte range ${start}-${end}`);
  }
}

/** Checks `readBytes` arguments. */
export function assertValidSlice(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 1) {
    throw new RangeError(`Invalid read of ${length} bytes at ${offset}`);
  }
}
