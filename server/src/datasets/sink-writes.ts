import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

/**
 * Writing to a dataset file's sink with back-pressure: the writers hand over one chunk at a time and wait for
 * `drain` when the sink's buffer is full, so a slow disk or upload never makes a build hold a whole file in
 * memory. Waiting also ends when the sink fails or closes, so a broken sink rejects instead of hanging a build.
 */

/** Writes `chunk` and, when the sink's buffer is full, resolves only once it has drained. */
export async function writeToSink(sink: Writable, chunk: Buffer | string): Promise<void> {
  watchForErrors(sink);
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
  watchForErrors(sink);
  throwIfBroken(sink);
  sink.end();
  await finished(sink);
}

/** Abandons the sink: destroys it with `reason`, which its other listeners (an upload, a pipeline) then see. */
export function destroySink(sink: Writable, reason: unknown): void {
  watchForErrors(sink);
  sink.destroy(reason instanceof Error ? reason : new Error(String(reason)));
}

const watched = new WeakSet<Writable>();

/**
 * A write that was accepted into the buffer can still fail later, with nobody waiting on the sink: without a
 * listener Node would throw that error as an uncaught exception and end the server. The error is not lost:
 * it is `sink.errored`, thrown by the next write or by `endSink`.
 */
function watchForErrors(sink: Writable): void {
  if (watched.has(sink)) return;
  watched.add(sink);
  sink.on('error', () => {});
}

function throwIfBroken(sink: Writable): void {
  if (sink.errored) throw sink.errored;
  if (sink.destroyed || sink.writableEnded) throw new Error('the dataset file sink is already closed');
}
