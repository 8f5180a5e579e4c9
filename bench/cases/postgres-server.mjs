import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  return startServer();
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });

// The PostgreSQL binaries refuse to run as root.
const asPostgres = (args) =>
  process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', ...args]] : [args[0], args.slice(1)];

async function startServer() {
  const dir = mkdtempSync(join(tmpdir(), 'flowstate-bench-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const port = await freePort();
  const run = (args) => execFileSync(...asPostgres(args), { stdio: 'pipe' });
  run(['initdb', '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  const child = spawn(
    ...asPostgres(['postgres', '-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir]),
    {
      stdio: 'ignore',
    },
  );
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const pg = (await import('pg')).default;
  for (const deadline = Date.now() + 20_000; ; ) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      try {
        run(['pg_ctl', 'stop', '-D', data, '-m', 'fast', '-w']);
      } catch {
        child.kill('SIGKILL');
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
