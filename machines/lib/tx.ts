/**
 * Trying changes without keeping them: the templates dry-run DDL and measure plans inside transactions that always
 * roll back.
 */
import type { Database, TransactionOptions } from '../../src/db/index.js';

/** Thrown to make a transaction roll back; never escapes {@link rolledBack}. */
class Rollback extends Error {}

/** Options of {@link rolledBack}. */
export interface RolledBackOptions extends TransactionOptions {
  /** `SET LOCAL lock_timeout`, so trying DDL on a busy table gives up instead of queueing behind writers. */
  readonly lockTimeoutMs?: number;
}

/**
 * Runs `fn` in a transaction and rolls it back whatever happens, returning `fn`'s result (or rethrowing its error).
 *
 * @example
 * ```ts
 * const plan = await rolledBack(db, async (tx) => {
 *   await tx.query(fixDdl);
 *   return (await tx.query(`EXPLAIN (FORMAT JSON) ${sql}`, params)).rows;
 * }, { statementTimeoutMs: 5_000, lockTimeoutMs: 1_000 });
 * ```
 */
export async function rolledBack<T>(
  db: Database,
  fn: (tx: Database) => Promise<T>,
  options: RolledBackOptions = {},
): Promise<T> {
  const { lockTimeoutMs, ...txOptions } = options;
  let result: T | undefined;
  try {
    await db.transaction(async (tx) => {
      if (lockTimeoutMs !== undefined) {
        await tx.query("SELECT set_config('lock_timeout', $1, true)", [
          `${Math.max(1, Math.round(lockTimeoutMs))}ms`,
        ]);
      }
      result = await fn(tx);
      throw new Rollback();
    }, txOptions);
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
  return result as T;
}
