// The parent's side of the chaos tests: spawns chaos-worker.mjs processes, records what they say and when they
// were killed, and reads the agents' ledger back. Every child is killed in `killAll()` (afterAll), even on failure.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import { postgresStore, sqliteStore, type WorkflowStore } from '../../src/index.js';
// @ts-expect-error plain ESM helper shared with the worker process
import { expectedOutput } from './crash-workflow.mjs';
import { createDatabase, type PostgresServer, startPostgres } from './postgres.js';

/** Long mode (`npm run test:chaos`): the figures. */
export const LONG = process.env.CHAOS === 'long';

const workerPath = new URL('./chaos-worker.mjs', import.meta.url).pathname;

/** What chaos-worker.mjs takes (as one JSON argument). */
export interface WorkerOptions {
  readonly kind: 'sqlite' | 'postgres';
  readonly target: string;
  readonly ledger: string;
  readonly owner: string;
  readonly ttlMs: number;
  readonly total: number;
  readonly slot: number;
  readonly slots: number;
  readonly concurrency: number;
  readonly drainFile: string;
  readonly contested?: readonly number[];
  readonly startAt?: number;
  readonly startEveryMs?: number;
  readonly lag?: boolean;
}

/** One line a worker printed: its tag and the words after it. */
export interface WorkerEvent {
  readonly pid: number;
  readonly tag: string;
  readonly args: readonly string[];
}

/** A worker process and what it said. */
export interface Worker {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly options: WorkerOptions;
  readonly events: WorkerEvent[];
  stderr: string;
  stdout: string;
  /** Set when the parent sent SIGKILL (epoch ms, taken before the signal). */
  killedAt?: number;
  /** Set when the parent sent SIGTERM. */
  termedAt?: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first event with this tag. */
  next(tag: string, timeoutMs?: number): Promise<WorkerEvent>;
}

const children = new Set<ChildProcess>();
export const allEvents: WorkerEvent[] = [];

export function spawnWorker(options: WorkerOptions): Worker {
  const child = spawn(process.execPath, [workerPath, JSON.stringify(options)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const waiting: Array<{ tag: string; resolve: (e: WorkerEvent) => void }> = [];
  const worker: Worker = {
    child,
    pid: child.pid as number,
    options,
    events: [],
    stderr: '',
    stdout: '',
    exited: new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        children.delete(child);
        resolve({ code, signal });
      }),
    ),
    next(tag, timeoutMs = 30_000) {
      const seen = worker.events.find((e) => e.tag === tag);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`worker ${worker.pid} (${options.owner}) never said ${tag}: ${worker.stderr}`)),
          timeoutMs,
        );
        waiting.push({
          tag,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
  };
  let buffer = '';
  child.stdout?.on('data', (d) => {
    worker.stdout += d;
    buffer += d;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      const [tag = '', ...args] = line.split(' ');
      const event = { pid: worker.pid, tag, args };
      worker.events.push(event);
      allEvents.push(event);
      for (const w of waiting.filter((x) => x.tag === tag)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(event);
      }
    }
  });
  child.stderr?.on('data', (d) => {
    worker.stderr += d;
  });
  return worker;
}

/** SIGKILLs every worker still alive (afterAll). */
export async function killAll(): Promise<void> {
  const left = [...children];
  for (const child of left) child.kill('SIGKILL');
  await Promise.all(
    left.map((child) =>
      child.exitCode !== null || child.signalCode !== null
        ? undefined
        : new Promise((r) => child.once('exit', r)),
    ),
  );
}

/** A fixed-seed generator in [0, 1) (the crash test's LCG). */
export function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface LedgerLine {
  key: string;
  event: 'call' | 'fail';
  pid: number;
  t: number;
}

export function readLedger(path: string): LedgerLine[] {
  return readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as LedgerLine);
}

/** Calls per idempotency key, in time order. */
export function callsByKey(ledger: readonly LedgerLine[]): Map<string, LedgerLine[]> {
  const calls = new Map<string, LedgerLine[]>();
  for (const line of ledger)
    if (line.event === 'call') calls.set(line.key, [...(calls.get(line.key) ?? []), line]);
  for (const list of calls.values()) list.sort((a, b) => a.t - b.t);
  return calls;
}

/** Every run `run-0` .. `run-<total-1>` is stored once, done, with the right output; returns the ones that are not. */
export async function wrongRuns(store: WorkflowStore, total: number) {
  const runs = await store.listRuns({ limit: total * 2 });
  const wrong: unknown[] = [];
  const seen = new Set<string>();
  for (const run of runs) {
    seen.add(run.id);
    const i = Number(run.id.slice('run-'.length));
    const ok = run.status === 'done' && isDeepStrictEqual(run.output, expectedOutput(i));
    if (!ok) wrong.push({ id: run.id, status: run.status, output: run.output, error: run.error });
  }
  const lost: string[] = [];
  for (let i = 0; i < total; i++) if (!seen.has(`run-${i}`)) lost.push(`run-${i}`);
  return { stored: runs.length, wrong, lost };
}

/** Calls of steps after their output was journaled (as crash.test.ts counts them): must be 0. */
export async function journalFigures(store: WorkflowStore, calls: Map<string, LedgerLine[]>) {
  let journaled = 0;
  let reExecutedJournaled = 0;
  for (const [key, list] of calls) {
    const entry = await store.getJournal(key);
    if (!entry) continue;
    journaled++;
    reExecutedJournaled += list.filter((c) => c.t > entry.createdAt).length;
  }
  return { journaled, reExecutedJournaled };
}

/** Expected output of run `i`, typed. */
export const outputOf = (i: number): unknown => expectedOutput(i);

/** Lines of a worker's stderr that are not the engine's JSON log (a crash trace, a warning from Node). */
export function strayStderr(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter(Boolean)
    .filter((line) => {
      try {
        JSON.parse(line);
        return false;
      } catch {
        return true;
      }
    });
}

/**
 * What a chaos test file shares: a scratch directory and a PostgreSQL server, set up before its tests, and after
 * them every worker killed, the server stopped and the directory removed (even when a test failed).
 */
export function chaosFixture(prefix: string): { readonly dir: string; pg(): PostgresServer } {
  let server: PostgresServer | undefined;
  const dir = mkdtempSync(join(tmpdir(), `flowstate-${prefix}-`));
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await killAll();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);
  return {
    dir,
    pg: () => {
      if (!server) throw new Error('the PostgreSQL server of this chaos test did not start');
      return server;
    },
  };
}

/**
 * The two stores a chaos test runs on, for `describe.each`: a SQLite file in the fixture's directory and a database
 * named `name` on its PostgreSQL server, each with the function that opens a store on it.
 */
export function storeTargets(
  fixture: ReturnType<typeof chaosFixture>,
  name: string,
): Array<[string, () => Promise<string>, (target: string) => WorkflowStore]> {
  return [
    ['sqlite', async () => join(fixture.dir, `${name}.db`), (path) => sqliteStore(path)],
    ['postgres', () => createDatabase(fixture.pg(), name), (url) => postgresStore(url)],
  ];
}

/** Whether a worker process is still running. */
export const alive = (w: Worker) => w.child.exitCode === null && w.child.signalCode === null;
