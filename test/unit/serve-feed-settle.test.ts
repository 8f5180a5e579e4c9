import { describe, expect, it } from 'vitest';
import { RunFeed } from '../../src/cli/serve/feed.js';
import { RunViews } from '../../src/cli/serve/run-view.js';
import { type AnyWorkflowDefinition, workflow } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import type { StoredRun, WorkflowStore } from '../../src/persistence/types.js';

const wf = workflow('feed-review').waitFor('approval', { event: 'approved', timeoutMs: 3_600_000 }).build();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const snap = (tag: string) =>
  JSON.stringify({ status: 'active', value: 'approval', context: { results: {}, tag }, children: {} });

function run(id: string, over: Partial<StoredRun>): StoredRun {
  return {
    id,
    workflow: wf.id,
    version: wf.version,
    status: 'waiting',
    input: {},
    snapshot: snap('aaaa'),
    createdAt: Date.now() - 60_000,
    updatedAt: Date.now(),
    ...over,
  };
}
const checkpoint = (store: WorkflowStore, r: StoredRun) =>
  store.write({ runs: [{ run: r, timers: [], lease: { owner: 'e1', epoch: 1 } }], journal: [] });

async function setup(updatedAt: number) {
  const store = memoryStore();
  const r = run('r1', { updatedAt });
  await store.write({
    claims: [{ run: r, owner: 'e1', leaseUntil: Date.now() + 3_600_000 }],
    runs: [],
    journal: [],
  });
  const feed = new RunFeed(store, new RunViews(new Map<string, AnyWorkflowDefinition>([[wf.id, wf]])), 10);
  const pushed: string[] = [];
  const stop = feed.onRun('r1', (_d, json) => pushed.push(json));
  await sleep(100);
  return { store, feed, pushed, stop };
}

describe('serve feed: checkpoints a head cannot tell apart', () => {
  it('a second checkpoint of the same ms whose snapshot has the same length is pushed (settle re-read)', async () => {
    const t = Date.now();
    const { store, feed, pushed, stop } = await setup(t);
    expect(pushed.length).toBe(1);
    await checkpoint(store, run('r1', { updatedAt: t, snapshot: snap('bbbb') }));
    await sleep(900);
    stop();
    feed.close();
    // the second checkpoint changed the stored run: its page must have been pushed again
    expect(pushed.length).toBeGreaterThanOrEqual(2);
  });

  it('writer clock 2 s behind the server: a second checkpoint of the same ms (longer snapshot) is pushed', async () => {
    const t = Date.now() - 2_000;
    const { store, feed, pushed, stop } = await setup(t);
    expect(pushed.length).toBe(1);
    await checkpoint(store, run('r1', { updatedAt: t, snapshot: snap('bbbbbbbbbbbb') }));
    await sleep(900);
    stop();
    feed.close();
    // the second checkpoint changed the stored run: its page must have been pushed again
    expect(pushed.length).toBeGreaterThanOrEqual(2);
  });

  it('control: a second checkpoint of the same ms (longer snapshot, no skew) is pushed', async () => {
    const t = Date.now();
    const { store, feed, pushed, stop } = await setup(t);
    await checkpoint(store, run('r1', { updatedAt: t, snapshot: snap('bbbbbbbbbbbb') }));
    await sleep(900);
    stop();
    feed.close();
    // the second checkpoint changed the stored run: its page must have been pushed again
    expect(pushed.length).toBeGreaterThanOrEqual(2);
  });
});
