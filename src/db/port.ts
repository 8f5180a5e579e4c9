/**
 * The database port the templates use: parameterized queries, transactions, close. Two adapters implement it:
 * PGlite (the embedded default, a real PostgreSQL in WASM) and `pg` for a `postgres://` server. Templates run
 * unchanged on both.
 */

/**
 * The rows of a query.
 * @template R - The shape of one row, as given to {@link Database.query} (not checked at run time).
 */
export interface QueryResult<R> {
  /** The rows returned, in the order the database sent them; empty for a statement that returns none. */
  readonly rows: R[];
  /** Rows affected (writes) or returned (reads). */
  readonly rowCount: number;
}

/** A connection to a PostgreSQL database (embedded or server). Values are always passed as parameters. */
export interface Database {
  /** Which adapter: the same SQL runs on both; a few catalog details (extensions) may differ. */
  readonly dialect: 'pglite' | 'postgres';
  /** Runs one statement with `$1`-style parameters. Never build SQL by concatenating values. */
  query<R = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /**
   * Runs `fn` in a transaction on one connection: committed when it resolves, rolled back when it throws.
   * Pass `{ readOnly: true }` for a READ ONLY transaction and `statementTimeoutMs` to bound every statement.
   */
  transaction<T>(fn: (tx: Database) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /**
   * Closes the database: PGlite shuts down; the `pg` adapter ends the pool it opened from a URL, and leaves a
   * `pg.Pool` it was given open. Rejects with a `ConfigurationError` on the `tx` of a transaction.
   */
  close(): Promise<void>;
}

/** Options of {@link Database.transaction}. */
export interface TransactionOptions {
  /**
   * Starts the transaction with `SET TRANSACTION READ ONLY`, so its writes fail. Top-level transactions only (a
   * nested one throws a `ConfigurationError`). @default false
   */
  readonly readOnly?: boolean;
  /** `SET LOCAL statement_timeout`. @default none */
  readonly statementTimeoutMs?: number;
}
