import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresStore, sqliteStore, type WorkflowStore } from '../../src/index.js';
import { createDatabase, type PostgresServer, startPostgres } from '../support/postgres.js';

const worker = new URL('../support/passivate-worker.mjs', import.meta.url).pathname;
const COUNT = 20;
const BACKOFF_MS = 4_000;
const QUIET = 5;

let pg: PostgresServer;
const dir = mkdtempSync(join(tmpdir(), 'flowstate-passivate-crash-'));
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Spawns a worker and resolves with it once it printed `line` (rejects if it exits first). */
function spawnUntil(
  args: string[],
  line: string,
  timeoutMs = 30_000,
): Promise<{ child: ChildProcess; out: string }> {
  const child = spawn(process.execPath, [worker, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${line} in time: ${out} ${err}`)), timeoutMs);
    child.stderr?.on('data', (d) => {
      err += d;
    });
    child.stdout?.on('data', (d) => {
      out += d;
      if (out.includes(line)) {
        clearTimeout(timer);
        resolve({ child, out });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!out.includes(line)) reject(new Error(`worker exited ${code}: ${out} ${err}`));
    });
  });
}

interface Call {
  key: string;
  pid: number;
  t: number;
}

describe.each([
  [
    'sqlite',
    async () => join(dir, `crash-${Math.random().toString(36).slice(2, 8)}.db`),
    (target: string): WorkflowStore => sqliteStore(target),
  ],
  [
    'postgres',
    async () => createDatabase(pg, `pc${Math.random().toString(36).slice(2, 8)}`),
    (target: string): WorkflowStore => postgresStore(target),
  ],
])('passivated runs across a SIGKILL on %s', (kind, target, open) => {
  it.each([
    ['park', 'their leases released'],
    ['park-unreleased', 'before the release of their leases committed'],
  ])(
    'a second engine wakes them by event and by due timer and finishes them; nothing journaled runs again (%s: killed %s)',
    async (mode) => {
      const where = await target();
      const ledger = join(dir, `${kind}-${mode}.ledger`);
      writeFileSync(ledger, '');
      const parker = await spawnUntil([mode, kind, where, ledger, String(COUNT)], 'PARKED');
      parker.child.kill('SIGKILL');
      await new Promise((r) => parker.child.once('exit', r));
      const store = open(where);
      const idle = await store.listRuns({ idle: true, status: ['running', 'waiting'], limit: 1_000 });
      expect(idle).toHaveLength(2 * COUNT + QUIET);
      // Passivated: lease released (or still running, when the release never committed). Quiet: lease running.
      expect(idle.filter((r) => r.leaseUntil === 0)).toHaveLength(mode === 'park' ? 2 * COUNT : 0);
      expect(idle.filter((r) => r.id.startsWith('quiet-') && (r.leaseUntil ?? 0) > 0)).toHaveLength(QUIET);
      const finisher = await spawnUntil(['finish', kind, where, ledger, String(COUNT)], 'DONE', 60_000);
      await new Promise((r) => finisher.child.once('exit', r));
      const runs = await store.listRuns({ limit: 1_000 });
      expect(runs.filter((r) => r.status === 'done')).toHaveLength(2 * COUNT + 2 + QUIET);
      const calls: Call[] = readFileSync(ledger, 'utf8')
        .trim()
        .split('\n')
        .map((line) => {
          const [key = '', , pid, t] = line.split(' ');
          return { key, pid: Number(pid), t: Number(t) };
        });
      const byKey = new Map<string, Call[]>();
      for (const c of calls) byKey.set(c.key, [...(byKey.get(c.key) ?? []), c]);
      // Only the busy runs' attempts, in flight at the kill, may run twice; every other attempt ran exactly once.
      for (let i = 0; i < QUIET; i++)
        expect(byKey.get(`quiet-${i}:ship:1`)?.[0]?.pid).toBe(finisher.child.pid);
      const twice = [...byKey].filter(([, list]) => list.length > 1).map(([key]) => key);
      expect(twice.every((key) => key.startsWith('busy-'))).toBe(true);
      for (let i = 0; i < COUNT; i++) {
        expect(byKey.get(`ap-${i}:ship:1`)?.[0]?.pid).toBe(finisher.child.pid);
        expect(byKey.get(`ap-${i}:plan:1`)?.[0]?.pid).toBe(parker.child.pid);
        const first = byKey.get(`bo-${i}:call:1`)?.[0];
        const retry = byKey.get(`bo-${i}:call:2`)?.[0];
        // The retry ran in the second process, on its deadline: never early, and late by little.
        expect(first?.pid).toBe(parker.child.pid);
        expect(retry?.pid).toBe(finisher.child.pid);
        const delay = (retry?.t ?? 0) - (first?.t ?? 0);
        expect(delay).toBeGreaterThanOrEqual(BACKOFF_MS);
        expect(delay).toBeLessThan(BACKOFF_MS + 500);
      }
      await store.close();
    },
    90_000,
  );
});
