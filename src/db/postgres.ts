/**
 * The server adapter: `pg` with a pool. A transaction takes one client from the pool for its whole life.
 */
import pg from 'pg';
import { applyTransactionOptions, type RunStatement, transactionScope } from './core.js';
import type { Database, QueryResult, TransactionOptions } from './port.js';
import { OID, parseDate, parseInt8 } from './types.js';

/** Parses `bigint` and `date` as the PGlite adapter does, so rows read the same on both. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === OID.int8) return parseInt8;
    if (oid === OID.date) return parseDate;
    return format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/**
 * Connects to a PostgreSQL server through a pool.
 *
 * Given a URL, the adapter owns its pool and `close()` ends it. Given a `pg.Pool`, the caller owns it: `close()`
 * leaves it open, and rows read with the pool's own type parsers.
 *
 * @example
 * ```ts
 * const db = postgresDatabase('postgres://app@127.0.0.1:5432/shop');
 * await db.transaction(async (tx) => tx.query('UPDATE orders SET status = $1 WHERE id = $2', ['paid', 7]));
 * await db.close();
 * ```
 */
export function postgresDatabase(url: string | pg.Pool): Database {
  const owned = typeof url === 'string';
  const pool = owned ? new pg.Pool({ connectionString: url, types }) : url;
  if (owned) {
    // An idle client that loses its connection emits on the pool; without a listener the process would crash.
    // The next query gets a fresh client, so there is nothing else to do.
    pool.on('error', () => {});
  }
  return {
    dialect: 'postgres',
    query: <R>(sql: string, params: readonly unknown[] = []) => runOn(pool)<R>(sql, params),
    async transaction<T>(fn: (tx: Database) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
      const client = await pool.connect();
      const run = runOn(client);
      let broken: unknown;
      try {
        await run('BEGIN', []).catch((error: unknown) => {
          broken = error;
          throw error;
        });
        try {
          await applyTransactionOptions(run, options);
          const result = await fn(transactionScope('postgres', run));
          await run('COMMIT', []);
          return result;
        } catch (error) {
          await run('ROLLBACK', []).catch((rollbackError: unknown) => {
            broken = rollbackError;
          });
          throw error;
        }
      } finally {
        // A client whose ROLLBACK failed is in an unknown state: destroy it rather than return it to the pool.
        client.release(broken instanceof Error ? broken : undefined);
      }
    },
    async close() {
      if (owned) await pool.end();
    },
  };
}

function runOn(runner: pg.Pool | pg.PoolClient): RunStatement {
  return async <R>(sql: string, params: readonly unknown[]): Promise<QueryResult<R>> => {
    const result = await runner.query(sql, [...params]);
    return { rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length };
  };
}
