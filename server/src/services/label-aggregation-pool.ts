import { createThreadPool, type ThreadPoolOptions } from '../threads/thread-pool';
import { type LabelFit, type LabelFitInput, labelFitBuffers } from './label-aggregation-worker';

/*
 * The thread that fits projects' labels (label-aggregation-worker.ts) for `aggregateProject`, so that a big
 * project's fit (seconds) never stalls the HTTP thread. A fit that overruns its deadline, or runs its thread out
 * of heap, or crashes it, fails that project's aggregation with why; the background work records it and tries
 * again later, and the next fit starts a new thread.
 */

/**
 * One thread: a fit keeps a core busy for seconds, and on a small machine a second fit at once would take the
 * core the HTTP thread (and the embedded database's thread) need; a second project's fit waits its turn, and
 * its deadline starts only when the thread takes it. One fit's heap at a time also bounds the memory.
 * Measured on 2 cores: 150,000 labels (50,000 items) fit in ~2 s, 1,000,000 labels in ~9 s within 512 MB of
 * heap; so 120 s and 2 GB leave room for a project of a few million labels.
 */
export const defaultAggregationPoolOptions: ThreadPoolOptions = { size: 1, deadlineMs: 120_000, maxHeapMb: 2048 };

export interface AggregationPool {
  /**
   * Fits a project's labels in a thread. The input's typed arrays move to the thread (unusable here
   * afterwards). Rejects, saying why, when the fit throws, overruns its deadline, or its thread stops.
   */
  fit(input: LabelFitInput): Promise<LabelFit>;
  /** Ends the thread; fits waiting or running fail, and later ones fail at once. */
  close(): Promise<void>;
}

/** label-aggregation-worker.ts, whose failures read "Aggregation took longer than 120 s." and the like. */
const fitWorker = {
  url: new URL('./label-aggregation-worker.ts', import.meta.url),
  serve: 'serveLabelFits',
  name: 'aggregation',
};

/** Starts a pool; its thread starts when a fit arrives, and when idle it never keeps the process alive. */
export function createAggregationPool(options: ThreadPoolOptions): AggregationPool {
  const threads = createThreadPool<LabelFitInput, LabelFit>(fitWorker, options);
  return {
    fit: (input) => threads.run(input, labelFitBuffers(input)),
    close: () => threads.close(),
  };
}

let shared: AggregationPool | undefined;

/** The process's pool (`defaultAggregationPoolOptions`), started on first use. */
export function sharedAggregationPool(): AggregationPool {
  shared ??= createAggregationPool(defaultAggregationPoolOptions);
  return shared;
}

/** Ends the process's pool, for a graceful shutdown; a later aggregation starts a new one. */
export async function closeAggregationPool(): Promise<void> {
  const pool = shared;
  shared = undefined;
  await pool?.close();
}
