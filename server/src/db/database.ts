/** What the server needs of a database, met alike by embedded PGlite and real PostgreSQL. */
export interface Queryable {
  query<Row = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<Row[]>;
}

/** A transaction in progress: its queries, and savepoints that a failed statement can be rolled back to. */
export interface Transaction extends Queryable {
  /**
   * Runs `fn` under a savepoint. When `fn` throws (a statement failed, say), the work since the savepoint is
   * rolled back and the error passed on; the transaction itself stays usable. Use this, not SQL
   * `savepoint` statements: the postgres driver fails the whole transaction on any failed statement run
   * outside a savepoint scope of its own, even one the code caught and rolled back.
   */
  savepoint<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
}

export interface Database extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Transaction) => Promise<T>): Promise<T>;
  /** Runs a script of several statements with no parameters (migrations). */
  exec(script: string): Promise<void>;
  close(): Promise<void>;
}
