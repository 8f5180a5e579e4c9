/**
 * The embedded adapter: PGlite, a real PostgreSQL compiled to WASM, in memory or in a directory. It has one
 * connection: PGlite queues statements itself, and its `transaction` holds the connection until it ends.
 */
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { applyTransactionOptions, type RunStatement, transactionScope } from './core.js';
import type { Database, QueryResult, TransactionOptions } from './port.js';
import { OID, parseDate, parseInt8 } from './types.js';

/**
 * Opens an embedded PostgreSQL: in memory by default, or persisted in `dataDir` (created when missing).
 *
 * PGlite runs single-threaded, so `statementTimeoutMs` is set as on a server but cannot interrupt a running
 * statement; bound a step with its `timeoutMs` as well.
 *
 * @example
 * ```ts
 * const db = await pgliteDatabase();
 * const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM orders WHERE status = $1', ['paid']);
 * await db.close();
 * ```
 */
export async function pgliteDatabase(dataDir?: string): Promise<Database> {
  const pg = await PGlite.create(dataDir, { parsers: { [OID.int8]: parseInt8, [OID.date]: parseDate } });
  return {
    dialect: 'pglite',
    query: <R>(sql: string, params: readonly unknown[] = []) => runOn(pg)<R>(sql, params),
    transaction<T>(fn: (tx: Database) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
      return pg.transaction(async (tx) => {
        const run = runOn(tx);
        await applyTransactionOptions(run, options);
        return fn(transactionScope('pglite', run));
      });
    },
    close: () => pg.close(),
  };
}

function runOn(runner: Pick<Transaction, 'query'>): RunStatement {
  return async <R>(sql: string, params: readonly unknown[]): Promise<QueryResult<R>> => {
    const result = await runner.query<R>(sql, [...params]);
    // PGlite reports affected rows for writes only; a read's count is its rows.
    return { rows: result.rows, rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
  };
}
