import { execFileSync } from 'node:child_process';
import { startPostgresServer } from '../../test/support/postgres-server.mjs';

/**
 * A PostgreSQL for the durability case: `FLOWSTATE_BENCH_PG_URL` if set, else a throwaway local server (when
 * `initdb` is on the PATH) with PostgreSQL's default durability settings (fsync on), else `undefined`.
 */
export async function postgres() {
  if (process.env.FLOWSTATE_BENCH_PG_URL)
    return { url: process.env.FLOWSTATE_BENCH_PG_URL, stop: async () => {} };
  try {
    execFileSync('initdb', ['--version'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return startPostgresServer({ durable: true });
}
