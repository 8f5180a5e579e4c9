// A throwaway redis-server on 127.0.0.1 in a temporary directory, for the BullMQ tests, the chaos test and the
// distribution benchmark. Plain JavaScript (typed by redis-server.d.mts) so that bench/ runs it without a build.
// Debian's redis-server is installed with apt-get when it is missing (as .ci/run does for PostgreSQL).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.mjs';

/** The redis-server binary, installed from Debian's packages when missing (needs root, as in CI). */
function redisServerBinary() {
  for (const path of ['/usr/bin/redis-server', '/usr/local/bin/redis-server'])
    if (existsSync(path)) return path;
  execFileSync(
    'sh',
    ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server'],
    {
      stdio: 'ignore',
    },
  );
  return '/usr/bin/redis-server';
}

/**
 * Starts a fresh server: `noeviction`, and AOF (`appendfsync everysec`) unless `persistent: false`. `kill()` is a
 * SIGKILL (a crash), `restart()` starts it again on the same port and directory, `stop()` ends it and removes the
 * directory.
 */
export async function startRedisServer({ persistent = true } = {}) {
  const binary = redisServerBinary();
  const dir = mkdtempSync(join(tmpdir(), 'flowstate-redis-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    persistent ? 'yes' : 'no',
    '--appendfsync',
    'everysec',
    '--maxmemory-policy',
    'noeviction',
    '--daemonize',
    'no',
    '--logfile',
    join(dir, 'redis.log'),
  ];
  let child;
  const url = `redis://127.0.0.1:${port}`;
  const accepting = async () => {
    for (const deadline = Date.now() + 20_000; ; ) {
      const client = new Redis(url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      client.on('error', () => {}); // refused while the server starts: connect() below says so
      try {
        await client.connect();
        await client.ping();
        client.disconnect();
        return;
      } catch (error) {
        client.disconnect();
        if (Date.now() > deadline) throw error;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const serve = async () => {
    child = spawn(binary, args, { stdio: 'ignore' });
    await accepting();
  };
  await serve();
  const command = async (...words) => {
    const client = new Redis(url, { maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    try {
      return await client.call(...words);
    } finally {
      client.disconnect();
    }
  };
  const exited = () =>
    new Promise((r) =>
      child.exitCode === null && child.signalCode === null ? child.once('exit', r) : r(undefined),
    );
  return {
    url,
    port,
    command,
    /** A crash: SIGKILL, resolved once the process is gone. */
    async kill() {
      const gone = exited();
      child.kill('SIGKILL');
      await gone;
    },
    /** Starts the killed server again on the same port and directory (its AOF, if any); resolves once it answers. */
    restart: serve,
    async stop() {
      const gone = exited();
      child.kill('SIGKILL');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5_000))]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
