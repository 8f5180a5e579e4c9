// What `flowstate serve`'s live streams read from the store. Found by an adversarial trial: the list stream read every
// unfinished run's input and output every 200 ms, and a run page the whole row (snapshot, input, output) every 50 ms,
// changed or not: one list tab on 200 waiting runs of 200 KB inputs kept the server at ~60% CPU, a page on a run of
// 20 MB at ~40%. Now the streams read the runs' heads (`listRunHeads`: no input, output or snapshot) and read a run
// whole only when its head changed.
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createServeApp } from '../../src/cli/serve/app.js';
import type { RunRow } from '../../src/cli/serve/run-view.js';
import { type AnyWorkflowDefinition, workflow } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import type { RunStatus, StoredRun, WorkflowStore } from '../../src/persistence/types.js';

const wf = workflow('poll-costs').waitFor('approval', { event: 'approved', timeoutMs: 3_600_000 }).build();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A memory store that counts what its reads return: the bytes of inputs, outputs and snapshots, and the calls. */
function countingStore() {
  const inner = memoryStore();
  const counts = { bytes: 0, getRun: 0, heads: 0 };
  const size = (r: Partial<StoredRun>) =>
    (r.input === undefined ? 0 : JSON.stringify(r.input).length) +
    (r.output === undefined ? 0 : JSON.stringify(r.output).length) +
    (r.snapshot?.length ?? 0);
  const store: WorkflowStore = {
    ...inner,
    async getRun(id) {
      counts.getRun++;
      const run = await inner.getRun(id);
      if (run) counts.bytes += size(run);
      return run;
    },
    async listRuns(filter) {
      const runs = await inner.listRuns(filter);
      for (const r of runs) counts.bytes += size(r);
      return runs;
    },
    async listRunHeads(filter) {
      counts.heads++;
      const heads = await (inner.listRunHeads as NonNullable<WorkflowStore['listRunHeads']>)(filter);
      for (const h of heads) counts.bytes += size(h as Partial<StoredRun>);
      return heads;
    },
  };
  return { inner, store, counts };
}

const run = (id: string, over: Partial<StoredRun> = {}): StoredRun => ({
  id,
  workflow: wf.id,
  version: wf.version,
  status: 'waiting',
  input: {},
  snapshot: JSON.stringify({ status: 'active', value: 'approval', context: { results: {} }, children: {} }),
  createdAt: Date.now() - 60_000,
  updatedAt: Date.now() - 60_000,
  ...over,
});
const claim = (store: WorkflowStore, runs: StoredRun[]) =>
  store.write({
    claims: runs.map((r) => ({ run: r, owner: 'engine-1', leaseUntil: Date.now() + 3_600_000 })),
    runs: [],
    journal: [],
  });
/** A checkpoint of a claimed run (epoch 1, as claimed). */
const checkpoint = (store: WorkflowStore, r: StoredRun) =>
  store.write({ runs: [{ run: r, timers: [], lease: { owner: 'engine-1', epoch: 1 } }], journal: [] });

/** An SSE stream of the app, its events parsed as they come. */
async function subscribe(app: ReturnType<typeof createServeApp>['app'], path: string) {
  const response = await app.request(path);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const events: { event: string; data: string }[] = [];
  let rest = '';
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      rest += new TextDecoder().decode(value);
      const blocks = rest.split('\n\n');
      rest = blocks.pop() ?? '';
      for (const block of blocks) {
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        if (event) events.push({ event, data });
      }
    }
  })();
  return { events, stop: () => reader.cancel() };
}

async function until(check: () => boolean, ms = 5_000) {
  for (const started = Date.now(); !check(); await sleep(5))
    if (Date.now() - started > ms) throw new Error('condition not met in time');
}

const apps: Array<() => void> = [];
afterEach(() => {
  for (const close of apps.splice(0)) close();
});
function serve(store: WorkflowStore) {
  const served = createServeApp({
    store,
    workflows: new Map<string, AnyWorkflowDefinition>([[wf.id, wf]]),
    registry: new Registry(),
    assets: new Map(),
    pollMs: 10,
  });
  apps.push(served.close);
  return served;
}

describe('the live streams of flowstate serve', () => {
  it('an open list stream reads no input or output of the unfinished runs while none changes', async () => {
    const { store, counts } = countingStore();
    const blob = 'q'.repeat(100 * 1024);
    await claim(
      store,
      Array.from({ length: 20 }, (_, i) =>
        run(`w-${i}`, { input: { blob }, createdAt: Date.now() - 60_000 + i }),
      ),
    );
    const { app } = serve(store);
    const list = await subscribe(app, '/api/runs/events');
    await until(() => list.events.some((e) => e.event === 'ready'));
    counts.bytes = 0;
    // 25 list polls (every 4 × 10 ms): before, each read the 20 runs' 100 KB inputs (50 MB in all).
    await sleep(1_000);
    expect(counts.bytes).toBe(0);
    expect(list.events.filter((e) => e.event === 'runs')).toEqual([]);
    await list.stop();
  });

  it('tells the list stream the rows of the runs that moved, without their inputs', async () => {
    const { store, counts } = countingStore();
    const blob = 'q'.repeat(100 * 1024);
    const runs = Array.from({ length: 5 }, (_, i) => run(`m-${i}`, { input: { blob } }));
    await claim(store, runs);
    const { app } = serve(store);
    const list = await subscribe(app, '/api/runs/events');
    await until(() => list.events.some((e) => e.event === 'ready'));
    counts.bytes = 0;
    const moved = runs[2] as StoredRun;
    await checkpoint(store, { ...moved, status: 'running', updatedAt: Date.now() });
    await checkpoint(store, {
      ...(runs[3] as StoredRun),
      status: 'done',
      output: { blob },
      updatedAt: Date.now(),
    });
    await until(() => list.events.filter((e) => e.event === 'runs').length > 0);
    await sleep(100);
    const pushed = list.events
      .filter((e) => e.event === 'runs')
      .flatMap((e) => JSON.parse(e.data) as RunRow[])
      .map((r) => [r.id, r.status, r.percent]);
    expect(pushed.sort()).toEqual([
      ['m-2', 'running', null],
      ['m-3', 'done', 100],
    ]);
    // The ids, as before, for clients of the `changed` event.
    expect(list.events.find((e) => e.event === 'changed')?.data).toMatch(/"m-2"/);
    // Neither the inputs of the five runs nor the output of the one that ended were read.
    expect(counts.bytes).toBe(0);
    // The page reads the rows of the runs that moved on it (percent and ETA: their snapshots) by id.
    const rows = (await (await app.request('/api/runs?id=m-2&id=m-3&id=nope')).json()) as { runs: RunRow[] };
    expect(rows.runs.map((r) => [r.id, r.status])).toEqual([
      ['m-3', 'done'],
      ['m-2', 'running'],
    ]);
    expect(rows.runs[1]).not.toHaveProperty('input');
    await list.stop();
  });

  it('a run page reads the run whole only when it changed (and once more shortly after, for a checkpoint of the same millisecond)', async () => {
    const { store, counts } = countingStore();
    const big = 'x'.repeat(1024 * 1024);
    const stored = run('big-1', { input: { big } });
    await claim(store, [stored]);
    const { app } = serve(store);
    const page = await subscribe(app, '/api/runs/big-1/events');
    await until(() => page.events.length === 1);
    // 100 polls at 10 ms: before, each read the 1 MB input (and the snapshot) again.
    await sleep(1_000);
    // The first read and one settle read 500 ms after it (a checkpoint of the same millisecond has the same head;
    // timed on the server's clock, as the writer's may be skewed), then none: not one per poll.
    expect(counts.getRun).toBe(2);
    expect(page.events).toHaveLength(1);
    expect(counts.heads).toBeGreaterThan(10);

    // A checkpoint: read whole, pushed once.
    const at = Date.now();
    const next = { ...stored, snapshot: stored.snapshot.replace('"active"', '"active" '), updatedAt: at };
    await checkpoint(store, next);
    await until(() => page.events.length === 2);
    // Another checkpoint in the same millisecond (its head is the same): pushed after the settle read.
    await checkpoint(store, { ...next, snapshot: `${next.snapshot} `, updatedAt: at });
    await until(() => page.events.length === 3, 2_000);
    const last = JSON.parse(page.events[2]?.data ?? '{}') as { run: { id: string } };
    expect(last.run.id).toBe('big-1');
    await sleep(700);
    // The first read, one per checkpoint seen, and the settle reads: not one per poll.
    expect(counts.getRun).toBeLessThanOrEqual(5);
    expect(page.events).toHaveLength(3);
    await page.stop();
  });

  it('a run page on a run that ended does not read it again', async () => {
    const { store, counts } = countingStore();
    const big = 'x'.repeat(1024 * 1024);
    const statuses: RunStatus[] = ['done', 'failed'];
    await claim(
      store,
      statuses.map((status, i) => run(`ended-${i}`, { status, input: { big }, output: { big } })),
    );
    const { app } = serve(store);
    const pages = await Promise.all(statuses.map((_, i) => subscribe(app, `/api/runs/ended-${i}/events`)));
    await until(() => pages.every((p) => p.events.length === 1));
    const heads = counts.heads;
    await sleep(1_000);
    // An ended run is final: looked at every 5 s only (to see it pruned), never read whole again.
    expect(counts.getRun).toBe(2);
    expect(counts.heads - heads).toBeLessThanOrEqual(1);
    for (const p of pages) await p.stop();
  });

  it('works on a store without listRunHeads, reading as before', async () => {
    const { inner } = countingStore();
    const { listRunHeads: _heads, ...rest } = inner;
    const store: WorkflowStore = rest;
    await claim(store, [run('plain-1')]);
    const { app } = serve(store);
    const page = await subscribe(app, '/api/runs/plain-1/events');
    await until(() => page.events.length === 1);
    const list = (await (await app.request('/api/runs')).json()) as { runs: RunRow[] };
    expect(list.runs.map((r) => r.id)).toEqual(['plain-1']);
    expect(list.runs[0]).not.toHaveProperty('input');
    await checkpoint(store, { ...run('plain-1'), status: 'running', updatedAt: Date.now() });
    await until(() => page.events.length === 2);
    await page.stop();
  });
});
