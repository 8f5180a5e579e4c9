// Minimal repros of two ownership bugs the replica chaos test found (issue 12). Both assert the documented
// behaviour and fail until src is fixed.
import { describe, expect, it } from 'vitest';
import { type WorkflowStore, workflow } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import { testEngine } from '../support/engine.js';

const waitThenStep = workflow('repro-wait')
  .waitFor('go', { event: 'go', timeoutMs: 600_000 })
  .step('b')
  .build();
const waitOnly = workflow('repro-final').waitFor('go', { event: 'go', timeoutMs: 600_000 }).build();

const untilWaiting = async (store: WorkflowStore, id: string) => {
  for (let i = 0; i < 200 && (await store.getRun(id))?.status !== 'waiting'; i++)
    await new Promise((r) => setTimeout(r, 5));
  expect((await store.getRun(id))?.status).toBe('waiting');
};

describe('ownership repros', () => {
  it('close() hands a run over unfinished even when it moved in the same tick (not stored as cancelled)', async () => {
    const store = memoryStore();
    const engine = testEngine({
      store,
      lease: { owner: 'a', ttlMs: 60_000, adopt: false },
      agents: { b: () => new Promise(() => {}) },
    });
    const run = engine.start(waitThenStep, {}, { id: 'handed' });
    await untilWaiting(store, 'handed');
    // The run moves (a checkpoint is queued), and the process is told to stop before that checkpoint is written.
    run.send({ type: 'go' });
    await engine.close();
    // Handed over: still unfinished, lease released, so another engine adopts it at once.
    expect(await store.getRun('handed')).toMatchObject({ status: 'running', leaseUntil: 0 });
  });

  it('a run whose final checkpoint is fenced does not resolve its result', async () => {
    const store = memoryStore();
    // A long ttl: no renewal round notices the theft before the run ends (as when it ends within ttl/3 of it).
    const engine = testEngine({ store, lease: { owner: 'a', ttlMs: 60_000, adopt: false } });
    const run = engine.start(waitOnly, {}, { id: 'fenced' });
    await untilWaiting(store, 'fenced');
    // Another engine takes the run (as after a pause of `a` longer than its lease).
    const later = Date.now() + 120_000;
    expect(await store.acquire('fenced', 'b', later, later + 60_000)).toMatchObject({ owner: 'b', epoch: 2 });
    run.send({ type: 'go' });
    const settled = await run.result.then(
      (output) => ({ resolved: output }),
      (error: { code?: string }) => ({ rejected: error.code }),
    );
    // The store never saw this engine's final state...
    expect(await store.getRun('fenced')).toMatchObject({ status: 'waiting', owner: 'b', epoch: 2 });
    // ...so its result must not resolve: it settles only after the final state commits.
    expect(settled).toEqual({ rejected: 'LEASE_LOST' });
    await engine.close();
  });
});
