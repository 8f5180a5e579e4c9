import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptRunError, postgresStore, sqliteStore } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import type { StoredRun, WorkflowStore } from '../../src/persistence/types.js';
import { createDatabase, type PostgresServer, startPostgres } from '../support/postgres.js';

const run = (id: string, over: Partial<StoredRun> = {}): StoredRun => ({
  id,
  workflow: 'wf',
  version: 'v1',
  status: 'running',
  input: { a: 1 },
  snapshot: '{"value":"x"}',
  createdAt: 1_000,
  updatedAt: 1_000,
  ...over,
});

let pgServer: PostgresServer;
let dir: string;
beforeAll(async () => {
  pgServer = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'flowstate-sqlite-'));
}, 60_000);
afterAll(async () => {
  await pgServer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Raw SQL on the store's database, to corrupt a row as a hand edit would. */
type Corrupt = (id: string) => Promise<void>;

const stores: Array<[string, () => Promise<{ store: WorkflowStore; corrupt?: Corrupt }>]> = [
  ['memory', async () => ({ store: memoryStore() })],
  [
    'sqlite',
    async () => {
      const path = join(dir, `${Math.random().toString(36).slice(2)}.db`);
      const { default: Database } = await import('better-sqlite3');
      return {
        store: sqliteStore(path),
        corrupt: async (id) => {
          const db = new Database(path);
          db.prepare("UPDATE flowstate_runs SET input = '{not json' WHERE id = ?").run(id);
          db.close();
        },
      };
    },
  ],
  [
    'postgres',
    async () => {
      const url = await createDatabase(pgServer, `c${Math.random().toString(36).slice(2, 10)}`);
      const pg = await import('pg');
      return {
        store: postgresStore(url),
        corrupt: async (id) => {
          const client = new pg.default.Client({ connectionString: url });
          await client.connect();
          await client.query("UPDATE flowstate_runs SET input = '{not json' WHERE id = $1", [id]);
          await client.end();
        },
      };
    },
  ],
];

describe.each(stores)('the %s store', (_name, open) => {
  it('writes runs with their timers and reads them back', async () => {
    const { store } = await open();
    await store.write({
      runs: [{ run: run('a'), timers: [{ runId: 'a', stepPath: 's', kind: 'backoff', deadline: 5_000 }] }],
      journal: [],
    });
    expect(await store.getRun('a')).toEqual(run('a'));
    expect(await store.listTimers('a')).toEqual([
      { runId: 'a', stepPath: 's', kind: 'backoff', deadline: 5_000 },
    ]);
    expect(await store.getRun('nope')).toBeUndefined();
    await store.close();
  });

  it('updates a run in place, replacing its timers, and keeps output and error', async () => {
    const { store } = await open();
    await store.write({
      runs: [{ run: run('a'), timers: [{ runId: 'a', stepPath: 's', kind: 'wait', deadline: 1 }] }],
      journal: [],
    });
    const done = run('a', {
      status: 'done',
      output: { rows: [1, 2] },
      snapshot: '{"value":"done"}',
      updatedAt: 2_000,
    });
    await store.write({ runs: [{ run: done, timers: [] }], journal: [] });
    expect(await store.getRun('a')).toEqual(done);
    expect(await store.listTimers('a')).toEqual([]);
    const failed = run('b', {
      status: 'failed',
      error: { name: 'StepFailedError', message: 'x', code: 'STEP_FAILED' },
    });
    await store.write({ runs: [{ run: failed, timers: [] }], journal: [] });
    expect((await store.getRun('b'))?.error).toEqual(failed.error);
    await store.close();
  });

  it('never lets a second run with the same id overwrite the first, and says so', async () => {
    const { store } = await open();
    const timer = { runId: 'a', stepPath: 's', kind: 'wait' as const, deadline: 7 };
    expect(await store.write({ runs: [{ run: run('a'), timers: [timer] }], journal: [] })).toBeUndefined();
    const result = await store.write({
      runs: [
        { run: run('a', { createdAt: 9_999, input: 'other' }), timers: [] },
        { run: run('b'), timers: [] },
      ],
      journal: [],
    });
    expect(result?.refused).toEqual(['a']);
    expect((await store.getRun('a'))?.input).toEqual({ a: 1 });
    expect(await store.listTimers('a')).toEqual([timer]);
    expect(await store.getRun('b')).toBeDefined();
    await store.close();
  });

  it('lists runs by status and workflow, oldest first', async () => {
    const { store } = await open();
    await store.write({
      runs: [
        { run: run('r2', { createdAt: 2 }), timers: [] },
        { run: run('r1', { createdAt: 1, status: 'waiting' }), timers: [] },
        { run: run('r3', { createdAt: 3, status: 'done', workflow: 'other' }), timers: [] },
      ],
      journal: [],
    });
    expect((await store.listRuns()).map((r) => r.id)).toEqual(['r1', 'r2', 'r3']);
    expect((await store.listRuns({ status: ['running', 'waiting'] })).map((r) => r.id)).toEqual(['r1', 'r2']);
    expect((await store.listRuns({ status: 'done' })).map((r) => r.id)).toEqual(['r3']);
    expect((await store.listRuns({ workflow: 'other' })).map((r) => r.id)).toEqual(['r3']);
    expect((await store.listRuns({ limit: 1 })).map((r) => r.id)).toEqual(['r1']);
    expect((await store.listRuns())[0]).not.toHaveProperty('snapshot');
    await store.close();
  });

  it('journals an output once: the first write under a key wins', async () => {
    const { store } = await open();
    const entry = { key: 'r:s:1', runId: 'r', stepPath: 's', attempt: 1, output: '{"v":1}', createdAt: 5 };
    await store.write({ runs: [], journal: [entry] });
    await store.write({ runs: [], journal: [{ ...entry, output: '{"v":2}' }] });
    expect(await store.getJournal('r:s:1')).toEqual(entry);
    expect(await store.getJournal('r:s:2')).toBeUndefined();
    await store.close();
  });

  it('keeps learned durations per workflow, kind and path, the latest state winning', async () => {
    const { store } = await open();
    const row = {
      workflow: 'wf',
      path: 'scan',
      kind: 'duration' as const,
      state: '{"ewma":1}',
      updatedAt: 1,
    };
    await store.write({
      runs: [],
      journal: [],
      history: [row, { ...row, kind: 'choice', path: 'triage', state: '{"0":1}' }],
    });
    await store.write({ runs: [], journal: [], history: [{ ...row, state: '{"ewma":2}', updatedAt: 2 }] });
    const rows = await store.loadHistory?.();
    expect(rows?.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { ...row, state: '{"ewma":2}', updatedAt: 2 },
      { ...row, kind: 'choice', path: 'triage', state: '{"0":1}' },
    ]);
    await store.close();
  });

  it('writes a batch atomically: a failing batch leaves nothing behind', async () => {
    const { store, corrupt } = await open();
    if (!corrupt) return; // the memory store has no transactions to test
    const bad = run('x', { status: 'running' });
    // A circular input cannot be serialized: the batch fails before or during the transaction.
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(
      store.write({
        runs: [
          { run: bad, timers: [] },
          { run: run('y', { input: circular }), timers: [] },
        ],
        journal: [{ key: 'k', runId: 'x', stepPath: 's', attempt: 1, output: '1', createdAt: 1 }],
      }),
    ).rejects.toThrow();
    expect(await store.getRun('x')).toBeUndefined();
    expect(await store.getJournal('k')).toBeUndefined();
    await store.close();
  });

  it('gives a typed error for a corrupted run alone; listing still works', async () => {
    const { store, corrupt } = await open();
    if (!corrupt) return;
    await store.write({
      runs: [
        { run: run('good'), timers: [] },
        { run: run('bad', { createdAt: 2_000 }), timers: [] },
      ],
      journal: [],
    });
    await corrupt('bad');
    await expect(store.getRun('bad')).rejects.toBeInstanceOf(CorruptRunError);
    expect(await store.getRun('good')).toEqual(run('good'));
    const listed = await store.listRuns();
    expect(listed.map((r) => r.id)).toEqual(['good', 'bad']);
    expect(listed[1]?.error).toMatchObject({ code: 'RUN_CORRUPTED' });
    await store.close();
  });
});
