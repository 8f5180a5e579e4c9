// A throwaway PostgreSQL server on 127.0.0.1, for the integration tests and the durability benchmark. Plain
// JavaScript (typed by postgres-server.d.mts) so that bench/ runs it without a build.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.mjs';

// The PostgreSQL binaries refuse to run as root: run them as the postgres user.
const asPostgres = (args) =>
  process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', ...args]] : [args[0], args.slice(1)];

/**
 * Starts a fresh server in a temporary directory; `stop()` ends it and removes the directory. `durable: false`
 * (tests) turns fsync off for speed; the benchmark keeps PostgreSQL's defaults.
 */
export async function startPostgresServer({ durable = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'flowstate-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const port = await freePort();
  const run = (args) => execFileSync(...asPostgres(args), { stdio: 'pipe' });
  run([
    'initdb',
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    ...(durable ? [] : ['--no-sync']),
  ]);
  const fast = durable
    ? []
    : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];
  const serve = () =>
    spawn(
      ...asPostgres(['postgres', '-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, ...fast]),
      {
        stdio: 'ignore',
      },
    );
  let child = serve();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const pg = (await import('pg')).default;
  const accepting = async () => {
    for (const deadline = Date.now() + 20_000; ; ) {
      const client = new pg.Client({ connectionString: url });
      try {
        await client.connect();
        await client.end();
        return;
      } catch (error) {
        await client.end().catch(() => {});
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await accepting();
  const runAsync = (args) =>
    new Promise((resolve, reject) => {
      const [file, rest] = asPostgres(args);
      execFile(file, rest, (error) => (error ? reject(error) : resolve(undefined)));
    });
  return {
    url,
    port,
    /** Stops the server (`pg_ctl stop -m fast`: clients are disconnected), keeping its data for `restart()`. */
    async halt() {
      const exited = new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
      await runAsync(['pg_ctl', 'stop', '-D', data, '-m', 'fast', '-w']);
      await exited;
    },
    /** Starts the halted server again on the same port and data directory; resolves once it accepts clients. */
    async restart() {
      child = serve();
      await accepting();
    },
    /** Terminates every backend connected to `database` (but the one asking); resolves to how many it ended. */
    async terminateBackends(database) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query(
          'SELECT count(*)::int AS n FROM (SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()) t WHERE ended',
          [database],
        );
        return rows[0].n;
      } finally {
        await client.end().catch(() => {});
      }
    },
    async stop() {
      // runuser does not pass signals on; pg_ctl stops the server itself.
      const exited = new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
      try {
        run(['pg_ctl', 'stop', '-D', data, '-m', durable ? 'fast' : 'immediate', '-w']);
      } catch {
        child.kill('SIGKILL');
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
