import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CorruptRunError, postgresStore, sqliteStore } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import type { JournalEntry, StoredRun, WorkflowStore } from '../../src/persistence/types.js';
import { createDatabase, type PostgresServer, startPostgres } from '../support/postgres.js';
import { pruneContract } from '../support/prune-contract.js';

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

const lease = { owner: 'o', epoch: 1 };
/** Claims runs as their owner `o` (epoch 1), then writes their checkpoints with timers. */
async function seed(store: WorkflowStore, ...runs: StoredRun[]) {
  await store.write({
    claims: runs.map((r) => ({ run: r, owner: 'o', leaseUntil: 10_000 })),
    runs: [],
    journal: [],
  });
  await store.write({ runs: runs.map((r) => ({ run: r, timers: [], lease })), journal: [] });
}
const entry = (over: Partial<JournalEntry> = {}) => ({
  key: 'r:s:1',
  runId: 'r',
  stepPath: 's',
  attempt: 1,
  output: '{"v":1}',
  createdAt: 5,
  ...over,
});
const strip = (r: StoredRun | undefined) => {
  if (!r) return r;
  const { owner: _o, epoch: _e, leaseUntil: _l, ...rest } = r;
  return rest;
};

describe.each(stores)('the %s store', (_name, open) => {
  it('claims a run, writes its checkpoints with timers under its lease, and reads them back', async () => {
    const { store } = await open();
    await store.write({ claims: [{ run: run('a'), owner: 'o', leaseUntil: 10_000 }], runs: [], journal: [] });
    expect(await store.getRun('a')).toEqual({ ...run('a'), owner: 'o', epoch: 1, leaseUntil: 10_000 });
    await store.write({
      runs: [
        { run: run('a'), timers: [{ runId: 'a', stepPath: 's', kind: 'backoff', deadline: 5_000 }], lease },
      ],
      journal: [],
    });
    expect(strip(await store.getRun('a'))).toEqual(run('a'));
    expect(await store.listTimers('a')).toEqual([
      { runId: 'a', stepPath: 's', kind: 'backoff', deadline: 5_000 },
    ]);
    expect(await store.getRun('nope')).toBeUndefined();
    await store.close();
  });

  it('updates a run in place, replacing its timers, and keeps output and error', async () => {
    const { store } = await open();
    await seed(store, run('a'), run('b'));
    await store.write({
      runs: [{ run: run('a'), timers: [{ runId: 'a', stepPath: 's', kind: 'wait', deadline: 1 }], lease }],
      journal: [],
    });
    const done = run('a', {
      status: 'done',
      version: 'v2',
      output: { rows: [1, 2] },
      snapshot: '{"value":"done"}',
      updatedAt: 2_000,
    });
    await store.write({ runs: [{ run: done, timers: [], lease }], journal: [] });
    expect(strip(await store.getRun('a'))).toEqual(done);
    expect(await store.listTimers('a')).toEqual([]);
    const failed = run('b', {
      status: 'failed',
      error: { name: 'StepFailedError', message: 'x', code: 'STEP_FAILED' },
    });
    await store.write({ runs: [{ run: failed, timers: [] }].map((c) => ({ ...c, lease })), journal: [] });
    expect((await store.getRun('b'))?.error).toEqual(failed.error);
    await store.close();
  });

  it('refuses a claim whose id another run holds, and keeps the first run and its timers', async () => {
    const { store } = await open();
    await seed(store, run('a'));
    const timer = { runId: 'a', stepPath: 's', kind: 'wait' as const, deadline: 7 };
    await store.write({ runs: [{ run: run('a'), timers: [timer], lease }], journal: [] });
    const result = await store.write({
      claims: [
        { run: run('a', { createdAt: 9_999, input: 'other' }), owner: 'p', leaseUntil: 1 },
        { run: run('b'), owner: 'p', leaseUntil: 1 },
      ],
      runs: [],
      journal: [],
    });
    expect(result?.refused).toEqual(['a']);
    expect((await store.getRun('a'))?.input).toEqual({ a: 1 });
    expect((await store.getRun('a'))?.owner).toBe('o');
    expect(await store.listTimers('a')).toEqual([timer]);
    expect((await store.getRun('b'))?.owner).toBe('p');
    await store.close();
  });

  it('fences a stale owner: nothing of a run whose lease moved on is written', async () => {
    const { store } = await open();
    await seed(store, run('a'));
    await store.write({
      runs: [{ run: run('a'), timers: [{ runId: 'a', stepPath: 's', kind: 'wait', deadline: 1 }], lease }],
      journal: [],
    });
    // The lease expired (until 10,000) and another engine took the run.
    const taken = await store.acquire('a', 'p', 20_000, 30_000);
    expect(taken).toEqual({ owner: 'p', epoch: 2 });
    await store.post({ id: 'm1', runId: 'a', kind: 'cancel', body: '{}', state: 'pending', createdAt: 1 });
    const stale = await store.write({
      runs: [{ run: run('a', { status: 'done', output: 'stale' }), timers: [], lease }],
      journal: [entry({ key: 'a:s:1', runId: 'a' })].map((e) => ({ ...e, lease })),
      inbox: [{ id: 'm1', runId: 'a', state: 'applied', result: 'null', lease }],
    });
    expect(stale?.fenced).toEqual(['a']);
    expect(await store.getRun('a')).toMatchObject({ status: 'running', owner: 'p', epoch: 2 });
    expect(await store.listTimers('a')).toEqual([{ runId: 'a', stepPath: 's', kind: 'wait', deadline: 1 }]);
    expect(await store.getJournal('a:s:1')).toBeUndefined();
    expect((await store.getMessage('m1'))?.state).toBe('pending');
    // The new owner writes under its epoch.
    expect(
      await store.write({
        runs: [{ run: run('a', { status: 'done' }), timers: [], lease: taken! }],
        journal: [],
      }),
    ).toBeUndefined();
    expect((await store.getRun('a'))?.status).toBe('done');
    await store.close();
  });

  it('stores a signal once: a post of an id already stored leaves it, its answer and all', async () => {
    const { store } = await open();
    await seed(store, run('a'));
    const message = {
      id: 'k1',
      runId: 'a',
      kind: 'event',
      body: '{"event":{"type":"go"}}',
      createdAt: 1,
    } as const;
    await store.post({ ...message, state: 'pending' });
    await store.post({ ...message, state: 'pending' });
    expect(await store.pendingFor('o', 10)).toHaveLength(1);
    await store.write({
      runs: [],
      journal: [],
      inbox: [{ id: 'k1', runId: 'a', state: 'applied', result: 'true', lease }],
    });
    // Posted again (its caller retried): the answer stays, and nothing is pending again.
    await store.post({ ...message, state: 'pending', createdAt: 2 });
    expect(await store.getMessage('k1')).toMatchObject({ state: 'applied', result: 'true', createdAt: 1 });
    expect(await store.pendingFor('o', 10)).toEqual([]);
    await store.close();
  });

  it("takes a lease only when it expired, was released, or is the owner's own; renews and lists", async () => {
    const { store } = await open();
    await seed(
      store,
      run('a', { createdAt: 1 }),
      run('b', { createdAt: 2 }),
      run('c', { createdAt: 3, status: 'waiting' }),
    );
    await store.write({ runs: [{ run: run('d', { status: 'done' }), timers: [], lease }], journal: [] });
    expect(await store.acquire('a', 'p', 5_000, 20_000)).toBeUndefined();
    expect(await store.listAdoptable(5_000, 10)).toEqual([]);
    expect(await store.acquire('a', 'o', 5_000, 20_000)).toEqual({ owner: 'o', epoch: 2 });
    // Renewal extends every unfinished lease of the owner, in one call.
    expect((await store.renew('o', 40_000)).sort((x, y) => x.id.localeCompare(y.id))).toEqual([
      { id: 'a', owner: 'o', epoch: 2 },
      { id: 'b', owner: 'o', epoch: 1 },
      { id: 'c', owner: 'o', epoch: 1 },
    ]);
    expect(await store.listAdoptable(39_999, 10)).toEqual([]);
    expect((await store.listAdoptable(40_000, 10)).map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect((await store.listAdoptable(40_000, 2)).map((r) => r.id)).toEqual(['a', 'b']);
    expect((await store.listAdoptable(40_000, 10, ['other'])).map((r) => r.id)).toEqual([]);
    expect((await store.listAdoptable(40_000, 10, ['wf'])).map((r) => r.id)).toEqual(['a', 'b', 'c']);
    await store.release('o', [{ id: 'b', epoch: 1 }]);
    expect((await store.listAdoptable(1, 10)).map((r) => r.id)).toEqual(['b']);
    expect(await store.acquire('b', 'p', 1, 50_000)).toEqual({ owner: 'p', epoch: 2 });
    expect(await store.renew('o', 60_000)).toHaveLength(2);
    // An ended run is never taken.
    expect(await store.acquire('d', 'p', 99_999, 100_000)).toBeUndefined();
    await store.close();
  });

  it('releases a lease only at the epoch its releaser holds: a late release leaves a newer lease alone', async () => {
    const { store } = await open();
    await seed(store, run('a'), run('b'), run('c'));
    // `o` takes `a` again (epoch 2), as a second engine under the same owner id would; its epoch-1 release is stale.
    expect(await store.acquire('a', 'o', 5_000, 30_000)).toEqual({ owner: 'o', epoch: 2 });
    await store.release('o', [
      { id: 'a', epoch: 1 },
      { id: 'b', epoch: 1 },
    ]);
    expect(await store.getRun('a')).toMatchObject({ owner: 'o', epoch: 2, leaseUntil: 30_000 });
    expect(await store.getRun('b')).toMatchObject({ owner: 'o', epoch: 1, leaseUntil: 0 });
    // Still held, `a` is renewed with `c` and neither adoptable nor taken by another engine.
    expect((await store.renew('o', 40_000)).map((l) => `${l.id}@${l.epoch}`).sort()).toEqual(['a@2', 'c@1']);
    expect((await store.listAdoptable(20_000, 10)).map((r) => r.id)).toEqual(['b']);
    expect(await store.acquire('a', 'p', 20_000, 60_000)).toBeUndefined();
    // Another owner's release, or a release of an epoch never held, ends nothing; the holder's own one does.
    await store.release('p', [{ id: 'c', epoch: 1 }]);
    await store.release('o', [{ id: 'c', epoch: 7 }]);
    expect(await store.getRun('c')).toMatchObject({ owner: 'o', epoch: 1, leaseUntil: 40_000 });
    await store.release('o', [
      { id: 'a', epoch: 2 },
      { id: 'c', epoch: 1 },
    ]);
    expect((await store.listAdoptable(20_000, 10)).map((r) => r.id)).toEqual(['a', 'b', 'c']);
    await store.release('o', []);
    await store.close();
  });

  it('keeps signals in an inbox: pending for the owner, answered under its lease', async () => {
    const { store } = await open();
    await seed(store, run('a'), run('b'));
    await store.acquire('b', 'p', 20_000, 30_000);
    const heard: string[] = [];
    const unlisten = await store.listen?.((runId) => heard.push(runId));
    await store.post({
      id: 'm1',
      runId: 'a',
      kind: 'event',
      body: '{"event":{"type":"go"}}',
      state: 'pending',
      createdAt: 1,
    });
    await store.post({ id: 'm2', runId: 'b', kind: 'cancel', body: '{}', state: 'pending', createdAt: 2 });
    expect((await store.pendingFor('o', 10)).map((m) => m.id)).toEqual(['m1']);
    expect((await store.pendingFor('p', 10)).map((m) => m.id)).toEqual(['m2']);
    await store.write({
      runs: [],
      journal: [],
      inbox: [{ id: 'm1', runId: 'a', state: 'applied', result: 'true', lease }],
    });
    expect(await store.getMessage('m1')).toMatchObject({ state: 'applied', result: 'true', kind: 'event' });
    expect(await store.pendingFor('o', 10)).toEqual([]);
    await store.deleteMessage('m1');
    expect(await store.getMessage('m1')).toBeUndefined();
    if (unlisten) {
      for (let i = 0; i < 100 && heard.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(heard).toEqual(['a', 'b']);
      await unlisten();
    }
    await store.close();
  });

  it('keeps the idle flag of a checkpoint; lists idle runs no live engine holds that are due, earliest first', async () => {
    const { store } = await open();
    await seed(
      store,
      run('a', { createdAt: 1 }),
      run('b', { createdAt: 2, status: 'waiting' }),
      run('c', { createdAt: 3 }),
      run('d', { createdAt: 4, workflow: 'other' }),
      run('e', { createdAt: 5 }),
    );
    const timer = (runId: string, deadline: number) => ({
      runId,
      stepPath: 's',
      kind: 'backoff' as const,
      deadline,
    });
    await store.write({
      runs: [
        {
          run: run('a', { createdAt: 1 }),
          timers: [timer('a', 50_000), { ...timer('a', 30_000), kind: 'wait' }],
          lease,
          idle: true,
        },
        { run: run('b', { createdAt: 2, status: 'waiting' }), timers: [], lease, idle: true },
        { run: run('c', { createdAt: 3 }), timers: [timer('c', 20_000)], lease },
        {
          run: run('d', { createdAt: 4, workflow: 'other' }),
          timers: [timer('d', 10_000)],
          lease,
          idle: true,
        },
        { run: run('e', { createdAt: 5 }), timers: [timer('e', 90_000)], lease, idle: true },
      ],
      journal: [],
    });
    expect(await store.getRun('a')).toMatchObject({ idle: true });
    expect(await store.getRun('c')).not.toHaveProperty('idle');
    expect((await store.listRuns({ idle: true })).map((r) => r.id)).toEqual(['a', 'b', 'd', 'e']);
    expect((await store.listRuns({ idle: false })).map((r) => r.id)).toEqual(['c']);
    // Held by a live lease (until 10,000): none is due for anyone else yet.
    expect(await store.listDue?.(100_000, 5_000, 10)).toEqual([]);
    // Released (passivated): due by its earliest deadline; a signal makes a run due at its post time.
    await store.release(
      'o',
      ['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, epoch: 1 })),
    );
    await store.post({
      id: 'm1',
      runId: 'b',
      kind: 'event',
      body: '{}',
      state: 'pending',
      createdAt: 40_000,
    });
    expect(await store.listDue?.(60_000, 5_000, 10)).toEqual([
      { id: 'd', workflow: 'other', due: 10_000 },
      { id: 'a', workflow: 'wf', due: 30_000 },
      { id: 'b', workflow: 'wf', due: 40_000, signalled: true },
    ]);
    expect((await store.listDue?.(60_000, 5_000, 10, ['wf']))?.map((r) => r.id)).toEqual(['a', 'b']);
    expect((await store.listDue?.(60_000, 5_000, 1, ['wf']))?.map((r) => r.id)).toEqual(['a']);
    expect(await store.listDue?.(60_000, 5_000, 10, [])).toEqual([]);
    // Adoption by an engine that passivates takes only the busy run; the others wait to be due.
    expect((await store.listAdoptable(5_000, 10, undefined, { busyOnly: true })).map((r) => r.id)).toEqual([
      'c',
    ]);
    expect((await store.listAdoptable(5_000, 10, ['wf'], { busyOnly: true })).map((r) => r.id)).toEqual([
      'c',
    ]);
    expect((await store.listAdoptable(5_000, 10)).map((r) => r.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    // A released lease is not renewed, and its signals are not the old owner's to read.
    expect(await store.renew('o', 99_000)).toEqual([]);
    expect(await store.pendingFor('o', 10)).toEqual([]);
    // Taken again (woken): no longer due for anyone else.
    expect(await store.acquire('a', 'p', 5_000, 20_000)).toEqual({ owner: 'p', epoch: 2 });
    expect((await store.listDue?.(60_000, 5_000, 10))?.map((r) => r.id)).toEqual(['d', 'b']);
    // A signal is due whenever it was posted (stamped by a clock ahead of the reader's): flagged, it is due now.
    await store.post({
      id: 'm2',
      runId: 'e',
      kind: 'event',
      body: '{}',
      state: 'pending',
      createdAt: 500_000,
    });
    expect(await store.listDue?.(60_000, 5_000, 10)).toEqual([
      { id: 'd', workflow: 'other', due: 10_000 },
      { id: 'b', workflow: 'wf', due: 40_000, signalled: true },
      { id: 'e', workflow: 'wf', due: 500_000, signalled: true },
    ]);
    expect((await store.listDue?.(100_000, 5_000, 10))?.find((r) => r.id === 'e')).toEqual({
      id: 'e',
      workflow: 'wf',
      due: 90_000,
      signalled: true,
    });
    await store.close();
  });

  it('lists runs by status and workflow, oldest first', async () => {
    const { store } = await open();
    await seed(
      store,
      run('r2', { createdAt: 2 }),
      run('r1', { createdAt: 1, status: 'waiting' }),
      run('r3', { createdAt: 3, status: 'done', workflow: 'other' }),
    );
    expect((await store.listRuns()).map((r) => r.id)).toEqual(['r1', 'r2', 'r3']);
    expect((await store.listRuns({ status: ['running', 'waiting'] })).map((r) => r.id)).toEqual(['r1', 'r2']);
    expect((await store.listRuns({ status: 'done' })).map((r) => r.id)).toEqual(['r3']);
    expect((await store.listRuns({ workflow: 'other' })).map((r) => r.id)).toEqual(['r3']);
    expect((await store.listRuns({ limit: 1 })).map((r) => r.id)).toEqual(['r1']);
    expect((await store.listRuns())[0]).not.toHaveProperty('snapshot');
    await store.close();
  });

  it('pages runs newest or oldest first with limit and offset, and counts them by status and workflow', async () => {
    const { store } = await open();
    await seed(
      store,
      ...Array.from({ length: 7 }, (_, i) =>
        run(`p${i}`, { createdAt: 10 + i, ...(i % 2 ? { status: 'waiting' as const } : {}) }),
      ),
      run('q', { createdAt: 10, workflow: 'other' }),
    );
    const ids = async (filter: Parameters<WorkflowStore['listRuns']>[0]) =>
      (await store.listRuns(filter)).map((r) => r.id);
    expect(await ids({ order: 'newest', limit: 3 })).toEqual(['p6', 'p5', 'p4']);
    expect(await ids({ order: 'newest', limit: 3, offset: 3 })).toEqual(['p3', 'p2', 'p1']);
    // Ties on createdAt fall back to the id, reversed too.
    expect(await ids({ order: 'newest', limit: 3, offset: 6 })).toEqual(['q', 'p0']);
    expect(await ids({ limit: 2, offset: 1 })).toEqual(['q', 'p1']);
    expect(await ids({ status: 'waiting', workflow: 'wf', order: 'newest', offset: 1 })).toEqual([
      'p3',
      'p1',
    ]);
    expect(store.countRuns).toBeTypeOf('function');
    if (store.countRuns) {
      expect(await store.countRuns()).toBe(8);
      expect(await store.countRuns({ status: 'waiting', limit: 1, offset: 2 })).toBe(3);
      expect(await store.countRuns({ workflow: 'other' })).toBe(1);
      expect(await store.countRuns({ status: ['running', 'waiting'], workflow: 'wf' })).toBe(7);
    }
    await store.close();
  });

  it("lists a run's journal entries, oldest first, and no other run's", async () => {
    const { store } = await open();
    await seed(store, run('r'), run('other'));
    await store.write({
      runs: [],
      journal: [
        entry({ key: 'r:b:2', stepPath: 'b', attempt: 2, createdAt: 9 }),
        entry({ key: 'r:a:1', stepPath: 'a', createdAt: 7 }),
        entry({ key: 'other:a:1', runId: 'other', stepPath: 'a' }),
      ].map((e) => ({ ...e, lease })),
    });
    expect(store.listJournal).toBeTypeOf('function');
    if (store.listJournal) {
      const listed = await store.listJournal('r');
      expect(listed.map((e) => [e.stepPath, e.attempt, e.createdAt, e.output])).toEqual([
        ['a', 1, 7, '{"v":1}'],
        ['b', 2, 9, '{"v":1}'],
      ]);
      expect(await store.listJournal('none')).toEqual([]);
    }
    await store.close();
  });

  it("lists a run's journal entries under a step path prefix, exactly: no wildcard, no other run's", async () => {
    const { store } = await open();
    await seed(store, run('r'), run('other'));
    const paths = ['m', 'm[0]', 'm[1]', 'm[10]', 'mx[0]', 'child/m[0]', 'm_%[0]', 'mé[0]', 'n[0]'];
    await store.write({
      runs: [],
      journal: [
        ...paths.map((stepPath, i) => entry({ key: `r:${stepPath}:1`, stepPath, createdAt: i })),
        entry({ key: 'other:m[0]:1', runId: 'other', stepPath: 'm[0]' }),
      ].map((e) => ({ ...e, lease })),
    });
    expect(store.listJournalUnder).toBeTypeOf('function');
    if (store.listJournalUnder) {
      const under = async (prefix: string, runId = 'r') =>
        (await store.listJournalUnder?.(runId, prefix))?.map((e) => e.stepPath).sort();
      expect(await under('m[')).toEqual(['m[0]', 'm[10]', 'm[1]']);
      expect(await under('m')).toEqual(['m', 'm[0]', 'm[10]', 'm[1]', 'm_%[0]', 'mx[0]', 'mé[0]'].sort());
      // `_` and `%` are themselves, not LIKE's wildcards; a multi-byte character counts as one.
      expect(await under('m_%')).toEqual(['m_%[0]']);
      expect(await under('m_')).toEqual(['m_%[0]']);
      expect(await under('mé[')).toEqual(['mé[0]']);
      expect(await under('child/m[')).toEqual(['child/m[0]']);
      expect(await under('m[', 'other')).toEqual(['m[0]']);
      expect(await under('zz')).toEqual([]);
      const [first] = (await store.listJournalUnder('r', 'm[0]')) ?? [];
      expect(first).toEqual(entry({ key: 'r:m[0]:1', stepPath: 'm[0]', createdAt: 1 }));
    }
    await store.close();
  });

  it("journals an output once under the run's lease: the first write under a key wins", async () => {
    const { store } = await open();
    await seed(store, run('r'));
    await store.write({ runs: [], journal: [{ ...entry(), lease }] });
    await store.write({ runs: [], journal: [{ ...entry({ output: '{"v":2}' }), lease }] });
    expect(await store.getJournal('r:s:1')).toEqual(entry());
    expect(await store.getJournal('r:s:2')).toBeUndefined();
    // A restart clears the run's journal with its checkpoint.
    await store.write({ runs: [{ run: run('r'), timers: [], lease, resetJournal: true }], journal: [] });
    expect(await store.getJournal('r:s:1')).toBeUndefined();
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
    await seed(store, run('x'));
    // A circular input cannot be serialized: the batch fails before or during the transaction.
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(
      store.write({
        claims: [{ run: run('y', { input: circular }), owner: 'o', leaseUntil: 1 }],
        runs: [{ run: run('x', { status: 'done' }), timers: [], lease }],
        journal: [{ ...entry({ key: 'k', runId: 'x' }), lease }],
      }),
    ).rejects.toThrow();
    expect((await store.getRun('x'))?.status).toBe('running');
    expect(await store.getJournal('k')).toBeUndefined();
    await store.close();
  });

  it('gives a typed error for a corrupted run alone; listing still works', async () => {
    const { store, corrupt } = await open();
    if (!corrupt) return;
    await seed(store, run('good'), run('bad', { createdAt: 2_000 }));
    await corrupt('bad');
    await expect(store.getRun('bad')).rejects.toBeInstanceOf(CorruptRunError);
    expect(strip(await store.getRun('good'))).toEqual(run('good'));
    const listed = await store.listRuns();
    expect(listed.map((r) => r.id)).toEqual(['good', 'bad']);
    expect(listed[1]?.error).toMatchObject({ code: 'RUN_CORRUPTED' });
    await store.close();
  });

  // Retention: `pruneEnded` (test/support/prune-contract.ts).
  pruneContract(open);
});
