import type { Writable } from 'node:stream';
import type { WrittenFile } from './dataset-storage';

/**
 * The `done` of a `StorageWriter`: ends `sink` if the caller has not, then resolves with `result()` once the
 * sink finished (the file is stored) or rejects if it was destroyed first. `result` is called once.
 */
export function whenStored(sink: Writable, result: () => WrittenFile): () => Promise<WrittenFile> {
  // `done()` is where errors are reported; without a listener an `error` event would end the process.
  sink.on('error', () => {});
  let outcome: Promise<WrittenFile> | undefined;
  let written: WrittenFile | undefined;
  const stored = () => {
    written ??= result();
    return written;
  };
  const discarded = () => sink.errored ?? new Error('The file was discarded before it was stored');

  return () => {
    outcome ??= new Promise<WrittenFile>((resolve, reject) => {
      if (sink.writableFinished) return resolve(stored());
      if (sink.destroyed) return reject(discarded());
      const settle = () => {
        sink.off('finish', settle);
        sink.off('close', settle);
        if (sink.writableFinished) resolve(stored());
        else reject(discarded());
      };
      sink.on('finish', settle);
      sink.on('close', settle);
      if (!sink.writableEnded) sink.end();
    });
    return outcome;
  };
}
