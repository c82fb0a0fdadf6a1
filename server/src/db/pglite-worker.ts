/**
 * The thread that owns PGlite, so that WASM PostgreSQL work never blocks the HTTP thread.
 * Started by `openPgliteDatabase`; it answers one reply per request, in order.
 * Imports nothing but PGlite and Node: it runs in a plain Node thread, without the server's path aliases.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, type Transaction } from '@electric-sql/pglite';

export type WorkerRequest =
  | { id: number; op: 'query'; sql: string; params: readonly unknown[] }
  | { id: number; op: 'exec'; sql: string }
  | { id: number; op: 'begin' | 'commit' | 'rollback' | 'close' };

/** An error's own fields (PostgreSQL `code`, `detail`, `constraint`…) as plain, cloneable values. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  fields: Record<string, string | number | boolean>;
}

export type WorkerReply = { id: number; rows?: unknown[] } | { id: number; error: SerializedError };

export type WorkerStatus = { ready: true } | { ready: false; error: SerializedError };

export interface PgliteWorkerOptions {
  /** PGlite's data folder; undefined means in memory. */
  dataDir: string | undefined;
}

function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} };
  const fields: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(error)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  return { name: error.name, message: error.message, stack: error.stack, fields };
}

/** The transaction the main thread has begun and not yet ended; every query until then belongs to it. */
interface OpenTransaction {
  tx: Transaction;
  /** Lets PGlite's transaction callback return, which commits unless `tx.rollback()` ran first. */
  end: () => void;
  finished: Promise<void>;
}

async function serve(port: NonNullable<typeof parentPort>, options: PgliteWorkerOptions): Promise<void> {
  let pg: PGlite;
  try {
    pg = await PGlite.create(options.dataDir);
  } catch (error) {
    port.postMessage({ ready: false, error: serializeError(error) } satisfies WorkerStatus);
    return;
  }
  let open: OpenTransaction | undefined;

  // PGlite's own `transaction` is used (not bare BEGIN/COMMIT) because it skips the file sync after each
  // statement and reports a COMMIT that rolled back an aborted transaction, as the in-thread code did.
  const begin = () =>
    new Promise<void>((entered, failed) => {
      const finished = pg
        .transaction(
          (tx) =>
            new Promise<void>((end) => {
              open = { tx, end, finished };
              entered();
            }),
        )
        .finally(() => {
          open = undefined;
        });
      finished.catch(failed);
    });

  const handle = async (request: WorkerRequest): Promise<unknown[] | undefined> => {
    switch (request.op) {
      case 'query':
        return (await (open?.tx ?? pg).query(request.sql, request.params as unknown[])).rows;
      case 'exec':
        await pg.exec(request.sql);
        return undefined;
      case 'begin':
        if (open) throw new Error('a transaction is already open');
        await begin();
        return undefined;
      case 'commit':
      case 'rollback': {
        if (!open) throw new Error(`no transaction to ${request.op}`);
        const { tx, end, finished } = open;
        if (request.op === 'rollback') await tx.rollback();
        end();
        await finished;
        return undefined;
      }
      case 'close':
        await pg.close();
        return undefined;
    }
  };

  // One request at a time, in arrival order: the main thread already serializes transactions, so a request
  // never waits on one behind it.
  let previous: Promise<void> = Promise.resolve();
  port.on('message', (request: WorkerRequest) => {
    previous = previous.then(async () => {
      let reply: WorkerReply;
      try {
        reply = { id: request.id, rows: await handle(request) };
      } catch (error) {
        reply = { id: request.id, error: serializeError(error) };
      }
      try {
        port.postMessage(reply);
      } catch (error) {
        // Rows PGlite parsed into something structured clone refuses (a custom type parser, say).
        port.postMessage({ id: request.id, error: serializeError(error) } satisfies WorkerReply);
      }
    });
  });
  port.postMessage({ ready: true } satisfies WorkerStatus);
}

if (parentPort) await serve(parentPort, workerData as PgliteWorkerOptions);
