import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/**
 * Writing to a dataset file's sink with back-pressure: the writers hand over one chunk at a time and wait for
 * `drain` when the sink's buffer is full, so a slow disk or upload never makes a build hold a whole file in
 * memory. Waiting also ends when the sink fails or closes, so a broken sink rejects instead of hanging a build.
 */

/** Writes `chunk` and, when the sink's buffer is full, resolves only once it has drained. */
export async function writeToSink(sink: Writable, chunk: Buffer | string): Promise<void> {
  throwIfBroken(sink);
  if (sink.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const cleanUp = () => {
      sink.off('drain', onDrain);
      sink.off('error', onError);
      sink.off('close', onClose);
    };
    const onDrain = () => {
      cleanUp();
      resolve();
    };
    const onError = (error: Error) => {
      cleanUp();
      reject(error);
    };
    const onClose = () => {
      cleanUp();
      reject(sink.errored ?? new Error('the dataset file sink closed before it drained'));
    };
    sink.on('drain', onDrain);
    sink.on('error', onError);
    sink.on('close', onClose);
  });
}

/** Ends the sink and resolves once everything written has been flushed (rejects if the sink failed). */
export async function endSink(sink: Writable): Promise<void> {
  throwIfBroken(sink);
  sink.end();
  await finished(sink);
}

function throwIfBroken(sink: Writable): void {
  if (sink.errored) throw sink.errored;
  if (sink.destroyed || sink.writableEnded) throw new Error('the dataset file sink is already closed');
}
