import { writeFileSync } from 'node:fs';
import type { Database, Queryable, Transaction } from './database';

interface StatementStats {
  calls: number;
  /** Wall time from the call to its rows, pool and lock waits included: what a request waited. */
  totalMs: number;
  maxMs: number;
  rows: number;
}

/**
 * Wraps a database so every statement's calls and wall time are counted by its text, and writes them,
 * slowest total first, as JSON to `file` when `flush` is called (the server does at shutdown). For
 * profiling under load (`GLEANER_QUERY_STATS=<file>`, see bench/README.md): it costs a clock read and a map
 * update per statement, so it is off unless asked for.
 */
export function withQueryStats(db: Database, file: string): Database & { flush: () => void } {
  const stats = new Map<string, StatementStats>();
  const timed = (runner: Queryable): Queryable => ({
    async query<Row>(text: string, params?: readonly unknown[]) {
      const started = performance.now();
      try {
        const rows = await runner.query<Row>(text, params);
        record(text, performance.now() - started, rows.length);
        return rows;
      } catch (error) {
        record(text, performance.now() - started, 0);
        throw error;
      }
    },
  });
  const record = (text: string, ms: number, rows: number) => {
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 160);
    const entry = stats.get(key) ?? { calls: 0, totalMs: 0, maxMs: 0, rows: 0 };
    entry.calls += 1;
    entry.totalMs += ms;
    entry.maxMs = Math.max(entry.maxMs, ms);
    entry.rows += rows;
    stats.set(key, entry);
  };
  const timedTransaction = (tx: Transaction): Transaction => ({
    ...timed(tx),
    savepoint: (fn) => tx.savepoint((inner) => fn(timedTransaction(inner))),
  });
  const root = timed(db);
  return {
    kind: db.kind,
    query: root.query,
    transaction: (fn) => db.transaction((tx) => fn(timedTransaction(tx))),
    exec: (script) => db.exec(script),
    close: () => db.close(),
    flush: () => {
      const rows = [...stats]
        .sort((a, b) => b[1].totalMs - a[1].totalMs)
        .map(([statement, s]) => ({ statement, ...s }));
      writeFileSync(file, `${JSON.stringify(rows, null, 1)}\n`);
    },
  };
}
