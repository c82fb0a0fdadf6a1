import { Worker } from 'node:worker_threads';
import type { PageBody } from '@protocol/extract/extract-body';
import type { ExtractionOutcome, ExtractReply, ExtractRequest, ExtractWorkerReady } from './extract-worker';

/*
 * The threads that read pages the server fetched (extract-worker.ts), so that no page can stall the HTTP
 * thread: a page nested thousands deep keeps Readability busy for seconds. A few long-lived threads take pages
 * from one queue, so a normal page costs a message each way; a page that overruns its deadline, or a thread
 * that runs out of heap, ends that thread, and the next page starts a new one.
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

/** Starts a pool; its threads start when pages arrive, and idle ones never keep the process alive. */
export function createExtractionPool(options: ExtractionPoolOptions): ExtractionPool {
  return new ThreadPool(options);
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

interface Job {
  body: PageBody;
  resolve: (outcome: ExtractionOutcome) => void;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  running?: { id: number; resolve: Job['resolve']; deadline: NodeJS.Timeout };
  /** Set when the thread is ended on purpose, so its exit is not taken for a crash. */
  ended: boolean;
}

class ThreadPool implements ExtractionPool {
  private readonly threads = new Set<Thread>();
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: ExtractionPoolOptions) {}

  extract(body: PageBody): Promise<ExtractionOutcome> {
    if (this.closed) return Promise.resolve(closedOutcome);
    return new Promise((resolve) => {
      this.queue.push({ body, resolve });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.resolve(closedOutcome);
    const threads = [...this.threads];
    for (const thread of threads) this.end(thread, closedOutcome.detail);
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  /** Hands waiting pages to free threads, and starts threads for the pages still waiting. */
  private dispatch(): void {
    let starting = 0;
    for (const thread of this.threads) {
      if (!thread.ready) starting += 1;
      else if (!thread.running) {
        const job = this.queue.shift();
        if (job) this.run(thread, job);
        // Idle, a thread must not keep the process alive; `run` refs it while a page is read.
        else thread.worker.unref();
      }
    }
    for (; this.queue.length > starting && this.threads.size < this.options.size; starting += 1) this.start();
  }

  private run(thread: Thread, job: Job): void {
    const id = this.nextId++;
    const deadline = setTimeout(() => {
      this.end(thread, `Extraction took longer than ${this.options.deadlineMs / 1_000} s.`);
      void thread.worker.terminate();
      this.dispatch();
    }, this.options.deadlineMs);
    thread.running = { id, resolve: job.resolve, deadline };
    thread.worker.ref();
    thread.worker.postMessage({ id, body: job.body } satisfies ExtractRequest);
  }

  private start(): void {
    const worker = startExtractWorker(this.options.maxHeapMb);
    const thread: Thread = { worker, ready: false, ended: false };
    this.threads.add(thread);
    let crash: Error | undefined;
    worker.on('message', (message: ExtractWorkerReady | ExtractReply) => {
      if ('ready' in message) {
        thread.ready = true;
      } else if (thread.running?.id === message.id) {
        clearTimeout(thread.running.deadline);
        const { resolve } = thread.running;
        thread.running = undefined;
        const { id: _, ...outcome } = message;
        resolve(outcome);
      }
      this.dispatch();
    });
    worker.on('error', (error) => {
      crash = error;
    });
    worker.on('exit', (code) => {
      if (thread.ended) return;
      const why = crash ? crash.message : `exit code ${code}`;
      if (!thread.ready) {
        this.threads.delete(thread);
        // It could not load, nor would the next: without another thread, the pages waiting would wait forever.
        if (this.threads.size > 0) return;
        for (const job of this.queue.splice(0)) job.resolve(failed(`The extraction thread could not start (${why}).`));
        return;
      }
      this.end(thread, `Extraction failed: the extraction thread stopped (${why}).`);
      this.dispatch();
    });
  }

  /** Takes a thread out of the pool, failing the page it was reading with `detail`. */
  private end(thread: Thread, detail: string): void {
    thread.ended = true;
    this.threads.delete(thread);
    const job = thread.running;
    thread.running = undefined;
    if (job) {
      clearTimeout(job.deadline);
      job.resolve(failed(detail));
    }
  }
}

const failed = (detail: string): ExtractionOutcome => ({ ok: false, detail });
const closedOutcome = { ok: false, detail: 'Extraction failed: the extraction threads are closed.' } as const;

const workerUrl = new URL('./extract-worker.ts', import.meta.url);

/**
 * The worker is TypeScript, which a plain Node thread cannot load, and on Node 20 a worker gets none of tsx's
 * hooks from its parent. So the thread starts from a one-line script that imports the worker through tsx's
 * API, as `startWorker` in db/pglite-database.ts does (copied: that one is not exported), and then starts
 * serving; this works alike under `tsx` (npm start) and under Vitest.
 */
function startExtractWorker(maxHeapMb: number): Worker {
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const worker = JSON.stringify(workerUrl.href);
  const source = `import(${JSON.stringify(tsxApi)}).then((tsx) => tsx.tsImport(${worker}, { parentURL: ${worker}, tsconfig: false })).then((thread) => thread.serveExtractions());`;
  return new Worker(source, { eval: true, resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } });
}
