import { fileURLToPath } from 'node:url';
import { parentPort, type TransferListItem, Worker, type WorkerOptions } from 'node:worker_threads';
import { BaseError } from '@protocol/errors';

/*
 * Long-lived worker threads for work that must not stall the HTTP thread: reading hostile pages
 * (verification/extraction-pool.ts), fitting a project's labels (services/label-aggregation-pool.ts). A few
 * threads take requests from one queue, so a normal request costs a message each way; a request that overruns
 * its deadline, or a thread that runs out of heap or crashes, ends that thread and fails that request, and the
 * next request starts a new thread. Idle threads never keep the process alive.
 */

export interface ThreadPoolOptions {
  /** Threads at most; one starts when a request finds none free. */
  size: number;
  /** How long one request may take, from when a thread takes it, before its thread is ended. */
  deadlineMs: number;
  /** Each thread's heap (V8's old generation) in MB: a request that needs more fails, the server does not. */
  maxHeapMb: number;
}

/** What a pool's threads run. */
export interface ThreadModule {
  /** The TypeScript module the thread loads. */
  url: URL;
  /** The function it exports that starts serving (by calling `serveThreadRequests`), called once loaded. */
  serve: string;
  /** The work, as failures name it: `extraction` fails with "Extraction took longer than 10 s.". */
  name: string;
}

/** Why a request failed: its deadline, its thread stopped (crash, heap), no thread could start, the pool closed, or the work threw. */
export type ThreadFailureReason = 'deadline' | 'stopped' | 'start' | 'closed' | 'threw';

/** A request the pool could not answer; `message` says why in words. */
export class ThreadFailure extends BaseError {
  override name = 'ThreadFailure';
  constructor(
    readonly reason: ThreadFailureReason,
    message: string,
  ) {
    super('internal_error', message, { details: { reason } });
  }
}

export interface ThreadPool<Request, Reply> {
  /**
   * Runs `request` in a thread: its reply, or a `ThreadFailure`. The `transfer` buffers move to the thread
   * (unusable here afterwards) instead of being copied.
   */
  run(request: Request, transfer?: readonly TransferListItem[]): Promise<Reply>;
  /** Ends every thread; requests waiting or running fail, and later ones fail at once. */
  close(): Promise<void>;
}

/** Starts a pool running `module`; its threads start when requests arrive. */
export function createThreadPool<Request, Reply>(
  module: ThreadModule,
  options: ThreadPoolOptions,
): ThreadPool<Request, Reply> {
  return new Pool<Request, Reply>(module, options);
}

/** Messages between a pool and its threads. */
interface ThreadReady {
  ready: true;
}
interface RequestMessage<Request> {
  id: number;
  request: Request;
}
type ReplyMessage<Reply> = { id: number; reply: Reply } | { id: number; error: string };

/**
 * Answers the pool's requests in this thread, one at a time, with `handle`'s reply (its `transferOf` buffers
 * moved, not copied), then says it is ready. A `handle` that throws fails that request with its message.
 */
export function serveThreadRequests<Request, Reply>(
  handle: (request: Request) => Reply | Promise<Reply>,
  transferOf: (reply: Reply) => TransferListItem[] = () => [],
): void {
  const port = parentPort;
  if (!port) throw new Error('serveThreadRequests runs in a worker thread');
  port.on('message', async ({ id, request }: RequestMessage<Request>) => {
    try {
      const reply = await handle(request);
      port.postMessage({ id, reply } satisfies ReplyMessage<Reply>, transferOf(reply));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      port.postMessage({ id, error: message } satisfies ReplyMessage<Reply>);
    }
  });
  port.postMessage({ ready: true } satisfies ThreadReady);
}

interface Job<Request, Reply> {
  request: Request;
  transfer: readonly TransferListItem[];
  resolve: (reply: Reply) => void;
  reject: (failure: ThreadFailure) => void;
}

interface Thread<Request, Reply> {
  worker: Worker;
  ready: boolean;
  running?: { id: number; job: Job<Request, Reply>; deadline: NodeJS.Timeout };
  /** Set when the thread is ended on purpose, so its exit is not taken for a crash. */
  ended: boolean;
}

class Pool<Request, Reply> implements ThreadPool<Request, Reply> {
  private readonly threads = new Set<Thread<Request, Reply>>();
  private readonly queue: Job<Request, Reply>[] = [];
  private nextId = 1;
  private closed = false;
  /** The work's name with a capital, to start a sentence. */
  private readonly title: string;

  constructor(
    private readonly module: ThreadModule,
    private readonly options: ThreadPoolOptions,
  ) {
    this.title = module.name.charAt(0).toUpperCase() + module.name.slice(1);
  }

  run(request: Request, transfer: readonly TransferListItem[] = []): Promise<Reply> {
    if (this.closed) return Promise.reject(this.closedFailure());
    return new Promise((resolve, reject) => {
      this.queue.push({ request, transfer, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(this.closedFailure());
    const threads = [...this.threads];
    for (const thread of threads) this.end(thread, this.closedFailure());
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
  }

  private closedFailure(): ThreadFailure {
    return new ThreadFailure('closed', `${this.title} failed: the ${this.module.name} threads are closed.`);
  }

  /** Hands waiting requests to free threads, and starts threads for the requests still waiting. */
  private dispatch(): void {
    let starting = 0;
    for (const thread of this.threads) {
      if (!thread.ready) starting += 1;
      else if (!thread.running) {
        const job = this.queue.shift();
        if (job) this.runOn(thread, job);
        // Idle, a thread must not keep the process alive; `runOn` refs it while a request runs.
        else thread.worker.unref();
      }
    }
    for (; this.queue.length > starting && this.threads.size < this.options.size; starting += 1) this.start();
  }

  private runOn(thread: Thread<Request, Reply>, job: Job<Request, Reply>): void {
    const id = this.nextId++;
    const deadline = setTimeout(() => {
      const seconds = this.options.deadlineMs / 1_000;
      this.end(thread, new ThreadFailure('deadline', `${this.title} took longer than ${seconds} s.`));
      void thread.worker.terminate();
      this.dispatch();
    }, this.options.deadlineMs);
    thread.running = { id, job, deadline };
    thread.worker.ref();
    try {
      thread.worker.postMessage({ id, request: job.request } satisfies RequestMessage<Request>, job.transfer);
    } catch (error) {
      // A request that cannot be sent (a buffer listed twice or already detached): fail it now, not at its
      // deadline, and never as an exception thrown out of a worker's message listener.
      clearTimeout(deadline);
      thread.running = undefined;
      thread.worker.unref();
      const why = error instanceof Error ? error.message : String(error);
      job.reject(new ThreadFailure('threw', `${this.title} failed: the request could not be sent (${why}).`));
      this.dispatch();
    }
  }

  private start(): void {
    const worker = startThread(this.module, this.options.maxHeapMb);
    const thread: Thread<Request, Reply> = { worker, ready: false, ended: false };
    this.threads.add(thread);
    let crash: Error | undefined;
    worker.on('message', (message: ThreadReady | ReplyMessage<Reply>) => {
      if ('ready' in message) {
        thread.ready = true;
      } else if (thread.running?.id === message.id) {
        clearTimeout(thread.running.deadline);
        const { job } = thread.running;
        thread.running = undefined;
        if ('error' in message) job.reject(new ThreadFailure('threw', `${this.title} failed: ${message.error}`));
        else job.resolve(message.reply);
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
        // It could not load, nor would the next: without another thread, the requests waiting would wait forever.
        if (this.threads.size > 0) return;
        const failure = new ThreadFailure('start', `The ${this.module.name} thread could not start (${why}).`);
        for (const job of this.queue.splice(0)) job.reject(failure);
        return;
      }
      this.end(
        thread,
        new ThreadFailure('stopped', `${this.title} failed: the ${this.module.name} thread stopped (${why}).`),
      );
      this.dispatch();
    });
  }

  /** Takes a thread out of the pool, failing the request it was running with `failure`. */
  private end(thread: Thread<Request, Reply>, failure: ThreadFailure): void {
    thread.ended = true;
    this.threads.delete(thread);
    const running = thread.running;
    thread.running = undefined;
    if (running) {
      clearTimeout(running.deadline);
      running.job.reject(failure);
    }
  }
}

/** The server's tsconfig, whose `@protocol/*` alias the threads' modules use as the server's do. */
const serverTsconfig = fileURLToPath(new URL('../../tsconfig.json', import.meta.url));

/** How a TypeScript module is loaded into a thread of its own (`startTypeScriptThread`). */
export interface TypeScriptThreadOptions {
  /** The export the thread calls once the module has loaded, if any (a module may start itself on import). */
  serve?: string;
  /** Which tsconfig tsx applies: the server's (for the `@protocol` alias) by default, or none. */
  tsconfig?: 'server' | false;
  /** Passed on to the Worker (workerData, resourceLimits…). */
  worker?: Omit<WorkerOptions, 'eval'>;
}

/**
 * Starts a thread running a TypeScript module. A plain Node thread cannot load TypeScript, and on Node 20 a
 * worker gets none of tsx's hooks from its parent (`--import tsx` is main-thread only there). So the thread
 * starts from a one-line script that imports the module through tsx's API and then calls its `serve` export;
 * this works alike under `tsx` (npm start) and under Vitest. The one place the server starts threads: these
 * pools, and embedded PGlite's thread (db/pglite-database.ts).
 */
export function startTypeScriptThread(url: URL, options: TypeScriptThreadOptions = {}): Worker {
  const tsxApi = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const module = JSON.stringify(url.href);
  const tsconfig = options.tsconfig === false ? 'false' : JSON.stringify(serverTsconfig);
  const serve = options.serve === undefined ? '' : `.then((thread) => thread[${JSON.stringify(options.serve)}]())`;
  const source = `import(${tsxApi}).then((tsx) => tsx.tsImport(${module}, { parentURL: ${module}, tsconfig: ${tsconfig} }))${serve};`;
  return new Worker(source, { ...options.worker, eval: true });
}

function startThread(module: ThreadModule, maxHeapMb: number): Worker {
  return startTypeScriptThread(module.url, {
    serve: module.serve,
    worker: { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } },
  });
}
