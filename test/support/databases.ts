import { pgliteDatabase } from '../../src/db/pglite.js';
import type { Database } from '../../src/db/port.js';
import { postgresDatabase } from '../../src/db/postgres.js';
import { createDatabase, type PostgresServer, startPostgres } from './postgres.js';

/** One adapter under test: `open()` gives a fresh, empty database. */
export interface AdapterUnderTest {
  readonly name: 'pglite' | 'postgres';
  open(): Promise<Database>;
}

/**
 * Both adapters, for `describe.each`: PGlite in memory, and a PostgreSQL server started on first use (one per
 * test file) with a new database per `open()`. Call `stop()` in `afterAll`.
 *
 * @example
 * ```ts
 * const adapters = bothAdapters();
 * afterAll(() => adapters.stop());
 * describe.each(adapters.list)('$name', (adapter) => { ... adapter.open() ... });
 * ```
 */
export function bothAdapters() {
  let server: Promise<PostgresServer> | undefined;
  let count = 0;
  const opened: Database[] = [];
  const track = (db: Database) => {
    opened.push(db);
    return db;
  };
  const list: AdapterUnderTest[] = [
    { name: 'pglite', open: async () => track(await pgliteDatabase()) },
    {
      name: 'postgres',
      async open() {
        server ??= startPostgres();
        const url = await createDatabase(await server, `flowstate_test_${process.pid}_${++count}`);
        return track(postgresDatabase(url));
      },
    },
  ];
  return {
    list,
    async stop() {
      await Promise.allSettled(opened.map((db) => db.close()));
      if (server) await (await server).stop();
    },
  };
}
