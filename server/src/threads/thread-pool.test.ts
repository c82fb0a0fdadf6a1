import { afterEach, expect, it } from 'vitest';
import { createThreadPool, type ThreadPool } from './thread-pool';

/** A real thread module of the server's: the label fit (any request it cannot read, it fails in words). */
const fitThread = {
  url: new URL('../services/label-aggregation-worker.ts', import.meta.url),
  serve: 'serveLabelFits',
  name: 'aggregation',
};

let pool: ThreadPool<unknown, unknown> | undefined;
afterEach(async () => {
  await pool?.close();
});

it('fails a request that cannot be sent to its thread at once, and the thread serves the next one', async () => {
  pool = createThreadPool<unknown, unknown>(fitThread, { size: 1, deadlineMs: 60_000, maxHeapMb: 256 });
  const buffer = new ArrayBuffer(8);
  // The same buffer listed twice: postMessage throws a DataCloneError. Before, that throw escaped the worker's
  // message listener (an uncaught exception, the process down) or left the request waiting for its deadline.
  await expect(pool.run({ items: [] }, [buffer, buffer])).rejects.toThrow(
    /^Aggregation failed: the request could not be sent \(.+\)\.$/,
  );
  // The thread is still there and answers: a request it cannot read comes back as its own failure, quickly.
  await expect(pool.run({ nonsense: true })).rejects.toThrow(/^Aggregation failed: /);
});
