import type { PageBody } from '@protocol/extract/extract-body';
import { createThreadPool } from '../threads/thread-pool';
import type { ExtractionOutcome } from './extract-worker';

/*
 * The threads that read pages the server fetched (extract-worker.ts), so that no page can stall the HTTP
 * thread: a page nested thousands deep keeps Readability busy for seconds. A few long-lived threads take pages
 * from one queue (threads/thread-pool.ts), so a normal page costs a message each way; a page that overruns its
 * deadline, or a thread that runs out of heap, ends that thread, and the next page starts a new one.
 */

export interface ExtractionPoolOptions {
  /** Threads at most; one starts when a page finds none free. */
  size: number;
  /** How long one page may take to read before its thread is ended. */
  deadlineMs: number;
  /** Each thread's heap (V8's old generation) in MB: a page that needs more fails, the server does not. */
  maxHeapMb: number;
}

/** Two threads, so a hostile page does not hold up a normal one; ~15 ms is a normal page, seconds a hostile one. */
export const defaultExtractionPoolOptions: ExtractionPoolOptions = { size: 2, deadlineMs: 10_000, maxHeapMb: 256 };

export interface ExtractionPool {
  /** Reads a page in a thread: its text and hash, or why it could not (a deadline, a crash, a closed pool). */
  extract(body: PageBody): Promise<ExtractionOutcome>;
  /** Ends every thread; pages waiting or being read fail, and later ones fail at once. */
  close(): Promise<void>;
}

/** extract-worker.ts, whose failures read "Extraction took longer than 10 s." and the like. */
const extractWorker = {
  url: new URL('./extract-worker.ts', import.meta.url),
  serve: 'serveExtractions',
  name: 'extraction',
};

/** Starts a pool; its threads start when pages arrive, and idle ones never keep the process alive. */
export function createExtractionPool(options: ExtractionPoolOptions): ExtractionPool {
  const threads = createThreadPool<PageBody, ExtractionOutcome>(extractWorker, options);
  return {
    // A failure of the thread (deadline, crash, heap, closed) is an outcome like a page without text.
    extract: (body) =>
      threads.run(body).catch((error: unknown) => ({
        ok: false,
        detail: error instanceof Error ? error.message : String(error),
      })),
    close: () => threads.close(),
  };
}

let shared: ExtractionPool | undefined;

/** The process's pool (`defaultExtractionPoolOptions`), started on first use. */
export function sharedExtractionPool(): ExtractionPool {
  shared ??= createExtractionPool(defaultExtractionPoolOptions);
  return shared;
}

/** Ends the process's pool, for a graceful shutdown; a later fetch starts a new one. */
export async function closeExtractionPool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}
