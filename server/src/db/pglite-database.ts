import { AsyncLocalStorage } from 'node:async_hooks';
import { chmod, mkdir } from 'node:fs/promises';
import type { Worker } from 'node:worker_threads';
import { startTypeScriptThread } from '../threads/thread-pool';
import type { Database, Transaction } from './database';
import { lockFolder } from './folder-lock';
import type { PgliteWorkerOptions, SerializedError, WorkerReply, WorkerRequest, WorkerStatus } from './pglite-worker';

const workerUrl = new URL('./pglite-worker.ts', import.meta.url);

/**
 * Embedded PostgreSQL (WASM) in a local folder: the zero-setup default. `dataDir` undefined means in memory.
 * PGlite runs in a worker thread, so a long query or a large ingest never stalls the HTTP thread.
 */
export async function openPgliteDatabase(dataDir?: string): Promise<Database> {
  if (dataDir) await createPrivateDir(dataDir);
  const lock = dataDir ? await lockFolder(dataDir) : undefined;
  const connection = await PgliteConnection.start({ dataDir }).catch(async (error: unknown) => {
    await lock?.release();
    throw error;
  });
  const gate = new TransactionGate();
  // Which transaction the running code is inside, to refuse a call on `db` that would wait for that very transaction.
  const insideTransaction = new AsyncLocalStorage<{ open: boolean }>();
  let closing: Promise<void> | undefined;

  const refusal = (): Error | undefined => {
    if (closing) return new Error('PGlite database is closed');
    if (insideTransaction.getStore()?.open) {
      return new Error(
        'db was used inside db.transaction(fn): use the tx that fn receives, or this call would wait forever',
      );
    }
    return undefined;
  };
  /**
   * Runs `work` once the gate admits it. Admitted at once, `work` posts its message synchronously, so messages
   * reach the worker in call order; a `close` right after a `query` cannot overtake it.
   */
  const admit = <T>(exclusive: boolean, work: () => Promise<T>): Promise<T> => {
    const refused = refusal();
    if (refused) return Promise.reject(refused);
    const wait = gate.enter(exclusive);
    return wait ? wait.then(work) : work();
  };

  return {
    kind: 'pglite',
    query<Row>(text: string, params: readonly unknown[] = []) {
      return admit(false, () => connection.request({ op: 'query', sql: text, params }) as Promise<Row[]>);
    },
    transaction<T>(fn: (tx: Transaction) => Promise<T>) {
      return admit(true, async () => {
        try {
          await connection.request({ op: 'begin' });
          const state = { open: true };
          let savepoints = 0;
          const tx: Transaction = {
            async query<Row>(text: string, params: readonly unknown[] = []) {
              if (!state.open) throw new Error('Transaction is closed');
              return (await connection.request({ op: 'query', sql: text, params })) as Row[];
            },
            async savepoint<S>(inner: (scope: Transaction) => Promise<S>) {
              savepoints += 1;
              const name = `s${savepoints}`;
              await tx.query(`savepoint ${name}`);
              let value: S;
              try {
                value = await inner(tx);
              } catch (error) {
                await tx.query(`rollback to savepoint ${name}`);
                throw error;
              }
              await tx.query(`release savepoint ${name}`);
              return value;
            },
          };
          let result: T;
          try {
            result = await insideTransaction.run(state, () => fn(tx));
          } catch (error) {
            state.open = false;
            // The original error is what the caller needs; a failed rollback (a dead worker) adds nothing.
            await connection.request({ op: 'rollback' }).catch(() => {});
            throw error;
          }
          state.open = false;
          await connection.request({ op: 'commit' });
          return result;
        } finally {
          gate.leave();
        }
      });
    },
    async exec(script: string) {
      await admit(false, () => connection.request({ op: 'exec', sql: script }));
    },
    close() {
      if (!closing) {
        const refused = refusal();
        if (refused) return Promise.reject(refused);
        // Calls made before close still run, and a transaction in progress finishes first. The folder is let go
        // only once PGlite has flushed it, even if closing failed: by then this process writes nothing more.
        closing = admit(true, () => connection.close()).finally(() => lock?.release());
      }
      return closing;
    },
  };
}

/** Creates a folder only its owner can read (it holds the whole database), or tightens one that exists. */
export async function createPrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/**
 * FIFO admission: plain calls go straight through unless a transaction holds or awaits the gate;
 * a transaction (or close) waits for its turn and then holds the gate alone until `leave`.
 */
class TransactionGate {
  private held = false;
  private readonly waiting: { exclusive: boolean; admit: () => void }[] = [];

  /** Undefined when admitted at once, else a promise that resolves on admission. */
  enter(exclusive: boolean): Promise<void> | undefined {
    if (!this.held && this.waiting.length === 0) {
      this.held = exclusive;
      return undefined;
    }
    return new Promise((admit) => this.waiting.push({ exclusive, admit }));
  }

  leave(): void {
    this.held = false;
    while (!this.held && this.waiting.length > 0) {
      const next = this.waiting.shift();
      if (!next) break;
      this.held = next.exclusive;
      next.admit();
    }
  }
}

type WithoutId<R> = R extends unknown ? Omit<R, 'id'> : never;
type ConnectionRequest = WithoutId<WorkerRequest>;

/** The worker thread and the requests awaiting its replies; one message each way per request. */
export class PgliteConnection {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (rows: unknown[] | undefined) => void; reject: (error: Error) => void }
  >();
  /** Why no request can be answered any more, once the worker is closed or gone. */
  private stopped: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (reply: WorkerReply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if ('error' in reply) waiter.reject(deserializeError(reply.error));
      else waiter.resolve(reply.rows);
    });
    let crash: Error | undefined;
    worker.on('error', (error) => {
      crash = error;
    });
    worker.on('exit', (code) => {
      this.stop(
        new Error(`PGlite worker stopped unexpectedly (exit code ${code})${crash ? `: ${crash.message}` : ''}`, {
          cause: crash,
        }),
      );
    });
  }

  /** Starts the worker and resolves once PGlite has opened its data folder, or rejects with why it could not. */
  static start(options: PgliteWorkerOptions): Promise<PgliteConnection> {
    return PgliteConnection.attach(startWorker(options));
  }

  /** Waits for a started worker's ready message; the seam tests use to stand in a worker that misbehaves. */
  static async attach(worker: Worker): Promise<PgliteConnection> {
    const status = await new Promise<WorkerStatus>((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`PGlite worker exited during startup (exit code ${code})`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (message: WorkerStatus) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        resolve(message);
      });
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw new Error(`PGlite could not start: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });
    });
    if (!status.ready) {
      await worker.terminate();
      const error = deserializeError(status.error);
      throw new Error(`PGlite could not start: ${error.message}`, { cause: error });
    }
    // Idle, the worker must not keep the process alive; `request` refs it while a reply is due.
    worker.unref();
    return new PgliteConnection(worker);
  }

  request(request: ConnectionRequest): Promise<unknown[] | undefined> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      try {
        this.worker.postMessage({ ...request, id } as WorkerRequest);
      } catch (error) {
        // A parameter structured clone refuses (a function, a class instance with private state).
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve, reject });
    });
  }

  /** Closes PGlite (flushing its data folder) and ends the thread; later requests reject. */
  async close(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.request({ op: 'close' });
    } finally {
      this.stop(new Error('PGlite database is closed'));
      await this.worker.terminate();
    }
  }

  private stop(reason: Error): void {
    this.stopped ??= reason;
    for (const waiter of this.pending.values()) waiter.reject(this.stopped);
    this.pending.clear();
  }
}

/** The worker loads on its own (no tsconfig: its imports are relative) and starts serving on import. */
function startWorker(options: PgliteWorkerOptions): Worker {
  return startTypeScriptThread(workerUrl, { tsconfig: false, worker: { workerData: options } });
}

/** Rebuilds a worker-side error with its PostgreSQL fields (`code`, `detail`…), which callers test. */
function deserializeError(serialized: SerializedError): Error {
  const error = Object.assign(new Error(serialized.message), serialized.fields);
  error.name = serialized.name;
  if (serialized.stack) error.stack = serialized.stack;
  return error;
}
