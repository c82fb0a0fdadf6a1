import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
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

/** How to reach the bucket. Credentials default to the SDK's chain (`AWS_ACCESS_KEY_ID`, profiles, roles…). */
export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** An S3-compatible service (MinIO, R2, Ceph…); unset means AWS itself. */
  endpoint?: string;
  /** `bucket` in the path instead of the host name, as most self-hosted stores need. */
  forcePathStyle?: boolean;
  credentials?: S3ClientConfig['credentials'];
  /** Multipart part size; memory held per upload is about `partSize * (queueSize + 1)`. */
  partSize?: number;
  queueSize?: number;
  /** Keys listed and deleted per request in `deletePrefix` (at most 1000, S3's limit; the default). */
  deleteBatchSize?: number;
}

/** Part size for streamed uploads: S3's 10,000-part limit makes 8 MiB parts enough for files up to about 80 GB. */
const defaultPartSize = 8 * 1024 * 1024;
/** DeleteObjects takes at most this many keys per call. */
const maxDeleteBatchSize = 1000;

/** Dataset files in an S3-compatible bucket through the AWS SDK v3. */
export function createS3Storage(options: S3StorageOptions): DatasetStorage {
  const { bucket } = options;
  const client = new S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle ?? false,
    credentials: options.credentials,
    // Since 2025 the SDK adds CRC checksums to every upload by default, which several S3-compatible stores
    // refuse; against a custom endpoint send them only where the API requires one. The SHA-256 computed while
    // writing is the integrity check that matters here (it is published in the dataset's file list).
    ...(options.endpoint
      ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
      : {}),
  });

  async function getObject(key: string, range?: ByteRange) {
    try {
      return await client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: assertValidKey(key),
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
    } catch (error) {
      if (isMissing(error)) throw new StoredFileNotFoundError(key);
      if (errorName(error) === 'InvalidRange') {
        throw new RangeError(`Range starts at ${range?.start}, past the end of ${key}`, { cause: error });
      }
      throw error;
    }
  }

  return {
    kind: 's3',

    openWriter(key: string): StorageWriter {
      const hash = createHash('sha256');
      let bytes = 0;
      // The sink hashes and counts what passes; Upload reads the other side, a part at a time, so a slow
      // upload fills the Transform's buffer and `write()` returns false: back-pressure reaches the producer.
      const sink = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk);
          bytes += chunk.length;
          callback(null, chunk);
        },
      });
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: assertValidKey(key), Body: sink },
        partSize: options.partSize ?? defaultPartSize,
        queueSize: options.queueSize ?? 2,
        // A failed upload aborts its multipart upload, so no invisible parts are left to pay for.
        leavePartsOnError: false,
      });
      const uploaded = upload.done();
      // A failed upload stops reading; destroying the sink tells a producer waiting on 'drain' to stop too.
      uploaded.catch((error: Error) => sink.destroy(error));
      // The transform only finishes when its readable side is drained; the file is stored when Upload says so.
      const stored = new Promise<void>((resolve, reject) => {
        uploaded.then(() => resolve(), reject);
        sink.once('close', () => {
          if (sink.errored || !sink.writableFinished) upload.abort().catch(() => {});
        });
      });
      stored.catch(() => {});
      const finished = whenStored(sink, () => ({ bytes, sha256: hash.digest('hex') }));
      return {
        sink,
        done: async () => {
          const written = await finished();
          await stored;
          return written;
        },
      };
    },

    async stat(key: string): Promise<StoredFileInfo | null> {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: assertValidKey(key) }));
        return {
          bytes: head.ContentLength ?? 0,
          // S3 ETags are strong validators of one object version's bytes (an MD5, or an MD5 of parts).
          etag: head.ETag ?? '""',
          modifiedAt: head.LastModified ?? new Date(0),
        };
      } catch (error) {
        if (isMissing(error)) return null;
        throw error;
      }
    },

    async read(key: string, range?: ByteRange): Promise<Readable> {
      if (range) assertValidRange(range);
      const object = await getObject(key, range);
      if (!(object.Body instanceof Readable)) throw new Error(`S3 returned no stream body for ${key}`);
      if (!range) return object.Body;
      // Some S3-compatible stores answer more than asked (s3rver reads `bytes=0-0` as `bytes=0-`): keep to the
      // range promised, and refuse an answer that starts elsewhere rather than serve the wrong bytes.
      const answered = /^bytes (\d+)-(\d+)\//.exec(object.ContentRange ?? '');
      if (Number(answered?.[1]) !== range.start) {
        object.Body.destroy();
        throw new Error(
          `The store answered ${object.ContentRange ?? 'no Content-Range'} for bytes ${range.start}-${range.end} of ${key}`,
        );
      }
      if (Number(answered?.[2]) <= range.end) return object.Body;
      return Readable.from(take(object.Body, range.end - range.start + 1), { objectMode: false });
    },

    async readBytes(key: string, offset: number, length: number): Promise<Uint8Array> {
      assertValidSlice(offset, length);
      const chunks: Buffer[] = [];
      for await (const chunk of await this.read(key, { start: offset, end: offset + length - 1 })) chunks.push(chunk);
      const bytes = Buffer.concat(chunks);
      if (bytes.length !== length) throw new RangeError(`${key} ends before byte ${offset + length}`);
      return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    },

    async move(from: string, to: string): Promise<void> {
      try {
        await client.send(
          new CopyObjectCommand({
            Bucket: bucket,
            Key: assertValidKey(to),
            // CopySource is `bucket/key`, URL-encoded; slashes may stay as they are.
            CopySource: `${bucket}/${encodeURIComponent(assertValidKey(from)).replaceAll('%2F', '/')}`,
          }),
        );
      } catch (error) {
        if (isMissing(error)) throw new StoredFileNotFoundError(from);
        throw error;
      }
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: from }));
    },

    async deletePrefix(prefix: string): Promise<void> {
      const folder = `${assertValidPrefix(prefix)}/`;
      const pageSize = Math.min(options.deleteBatchSize ?? maxDeleteBatchSize, maxDeleteBatchSize);
      // One DeleteObjects per listed page, each page starting after the last key of the one before. This is
      // ListObjects (v1) with `Marker`, which every S3-compatible store supports: s3rver fails any truncated
      // ListObjectsV2 on Node 17+ (it encrypts continuation tokens with DES, which OpenSSL 3 refuses).
      let marker: string | undefined;
      for (;;) {
        const page = await client.send(
          new ListObjectsCommand({ Bucket: bucket, Prefix: folder, MaxKeys: pageSize, Marker: marker }),
        );
        const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
        if (keys.length === 0) return;
        const result = await client.send(
          new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }),
        );
        const failed = result.Errors ?? [];
        if (failed.length > 0) {
          const first = failed[0];
          throw new Error(`Could not delete ${failed.length} files under ${folder}: ${first?.Key} ${first?.Message}`);
        }
        if (!page.IsTruncated) return;
        marker = keys[keys.length - 1]?.Key;
      }
    },

    async close(): Promise<void> {
      client.destroy();
    },
  };
}

/** The first `length` bytes of `source`; stopping early (or being destroyed) destroys `source`. */
async function* take(source: Readable, length: number): AsyncGenerator<Buffer> {
  let left = length;
  for await (const chunk of source as AsyncIterable<Buffer>) {
    if (chunk.length >= left) {
      yield chunk.subarray(0, left);
      return;
    }
    left -= chunk.length;
    yield chunk;
  }
}

function errorName(error: unknown): string | undefined {
  return error instanceof S3ServiceException ? error.name : (error as { name?: string } | null)?.name;
}

function isMissing(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NoSuchKey' || name === 'NotFound';
}
