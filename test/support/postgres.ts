import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway PostgreSQL server on 127.0.0.1, run as the `postgres` user (the binaries refuse root). */
export interface PostgresServer {
  readonly url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

const asPostgres = (args: string[]) =>
  (process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', ...args]] : [args[0], args.slice(1)]) as [
    string,
    string[],
  ];

/** Starts a fresh server in a temporary directory; `stop()` ends it and removes the directory. */
export async function startPostgres(): Promise<PostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'flowstate-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const port = await freePort();
  const run = (args: string[]) => {
    const [cmd, rest] = asPostgres(args);
    execFileSync(cmd, rest, { stdio: 'pipe' });
  };
  run(['initdb', '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const [cmd, rest] = asPostgres([
    'postgres',
    '-D',
    data,
    '-p',
    String(port),
    '-h',
    '127.0.0.1',
    '-k',
    dir,
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
  ]);
  const child = spawn(cmd, rest, { stdio: 'ignore' });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const pg = await import('pg');
  const deadline = Date.now() + 20_000;
  for (;;) {
    const client = new pg.default.Client({ connectionString: url });
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
      // runuser does not pass signals on; pg_ctl stops the server itself.
      const exited = new Promise((r) => child.once('exit', r));
      try {
        run(['pg_ctl', 'stop', '-D', data, '-m', 'immediate', '-w']);
      } catch {
        child.kill('SIGKILL');
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A new empty database on the server, so test files do not share tables. */
export async function createDatabase(server: PostgresServer, name: string): Promise<string> {
  const pg = await import('pg');
  const client = new pg.default.Client({ connectionString: server.url });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  return server.url.replace(/\/postgres$/, `/${name}`);
}
