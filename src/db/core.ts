/**
 * What both adapters share: option checks, the statements that apply transaction options, and nested
 * transactions as savepoints. Each adapter only says how to run one statement and how to hold one connection.
 */
import { ConfigurationError } from '../model/errors.js';
import type { Database, QueryResult, TransactionOptions } from './port.js';

/** Runs one parameterized statement on a fixed connection. */
export type RunStatement = <R>(sql: string, params: readonly unknown[]) => Promise<QueryResult<R>>;

/** Rejects a statement timeout that is not a positive integer (it is sent as a parameter, never spliced in SQL). */
function timeoutSetting(ms: number): string {
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new ConfigurationError(`statementTimeoutMs must be a positive integer, got ${ms}`);
  }
  return `${ms}ms`;
}

/** Applies `options` as the first statements of a top-level transaction. */
export async function applyTransactionOptions(run: RunStatement, options: TransactionOptions): Promise<void> {
  if (options.readOnly) await run('SET TRANSACTION READ ONLY', []);
  if (options.statementTimeoutMs !== undefined) {
    // set_config(name, value, true) is SET LOCAL with the value passed as a parameter.
    await run("SELECT set_config('statement_timeout', $1, true)", [
      timeoutSetting(options.statementTimeoutMs),
    ]);
  }
}

/**
 * The {@link Database} seen inside a transaction: statements go to the transaction's connection, a nested
 * `transaction` is a savepoint, and `close` is refused (close the database, not the transaction).
 */
export function transactionScope(dialect: Database['dialect'], run: RunStatement, depth = 1): Database {
  return {
    dialect,
    query: <R>(sql: string, params: readonly unknown[] = []) => run<R>(sql, params),
    async transaction<T>(fn: (tx: Database) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
      // Settings made in a savepoint would leak into the enclosing transaction once it is released.
      if (options.readOnly || options.statementTimeoutMs !== undefined) {
        throw new ConfigurationError(
          'readOnly and statementTimeoutMs apply to a top-level transaction only, not a nested one',
        );
      }
      const name = `flowstate_sp_${depth}`;
      await run(`SAVEPOINT ${name}`, []);
      try {
        const result = await fn(transactionScope(dialect, run, depth + 1));
        await run(`RELEASE SAVEPOINT ${name}`, []);
        return result;
      } catch (error) {
        await run(`ROLLBACK TO SAVEPOINT ${name}`, []);
        throw error;
      }
    },
    async close() {
      throw new ConfigurationError('close() the database, not a transaction');
    },
  };
}
