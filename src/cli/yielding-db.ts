/**
 * PGlite runs PostgreSQL in WebAssembly on the main thread and answers each query through promises alone, so a
 * template run (or the seeding) on it is one long chain of microtasks: Node's event loop never gets back to polling,
 * and a Ctrl-C waits in libuv until the chain ends, when the command has removed its handler and the signal is
 * lost (the "Ctrl-C is ignored once PGlite is open" of issue 16). Yielding to the event loop before each statement
 * lets the signal through between two statements, for a few microseconds each.
 */
import type { Database, TransactionOptions } from '../db/port.js';

/** One turn of the event loop: `setImmediate` runs after the poll phase, where signals are delivered. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The same database, yielding to the event loop before each statement (and in its transactions).
 *
 * @example
 * ```ts
 * const db = yielding(await openDatabase(undefined)); // Ctrl-C now interrupts a long run on PGlite
 * ```
 */
export function yielding(db: Database): Database {
  return {
    dialect: db.dialect,
    async query<R>(sql: string, params?: readonly unknown[]) {
      await turn();
      return db.query<R>(sql, params);
    },
    async transaction<T>(fn: (tx: Database) => Promise<T>, options?: TransactionOptions) {
      await turn();
      return db.transaction((tx) => fn(yielding(tx)), options);
    },
    close: () => db.close(),
  };
}
