import { describe, expect, it, vi } from 'vitest';
import { type WorkflowStore, workflow } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import { fakeTimersEachTest, pass, settle } from '../support/durable.js';
import { deferred, testEngine } from '../support/engine.js';

const AFTER = 5_000;

/** Two events in a row: a run restored from a stale snapshot would wait for the first again. */
const twice = workflow('race-twice')
  .step('plan')
  .waitFor('first', { event: 'one', timeoutMs: 3_600_000 })
  .waitFor('second', { event: 'two', timeoutMs: 3_600_000 })
  .step('ship')
  .build();

/** A memory store whose `acquire` can be held at its start (the engine has read the run, not yet taken it). */
function slowAcquire(inner: WorkflowStore) {
  const faults = { acquireGate: undefined as Promise<void> | undefined, entered: deferred<void>() };
  const store: WorkflowStore = {
    ...inner,
    async acquire(id, owner, now, leaseUntil) {
      const gate = faults.acquireGate;
      if (gate) {
        faults.entered.resolve();
        await gate;
      }
      return inner.acquire(id, owner, now, leaseUntil);
    },
  };
  return { store, faults };
}

/** A memory store whose writes can be held, each until the test lets it go (a slow connection per batch). */
function heldWrites(inner: WorkflowStore) {
  const held: Array<() => void> = [];
  const control = { holding: false, held };
  const store: WorkflowStore = {
    ...inner,
    async write(batch) {
      if (control.holding) {
        const gate = deferred<void>();
        held.push(() => gate.resolve());
        await gate.promise;
      }
      return inner.write(batch);
    },
  };
  return { store, control };
}

/** Lets the group commit (real setImmediate) and what it resolves run. */
const ticks = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

/** Counting agents, and the options of a replica named `owner` passivating `twice` after {@link AFTER}. */
function replicas(ttlMs: number) {
  const calls: Record<string, number> = {};
  const agents = {
    plan: () => {
      calls.plan = (calls.plan ?? 0) + 1;
      return 'PLAN';
    },
    ship: () => {
      calls.ship = (calls.ship ?? 0) + 1;
      return 'SHIP';
    },
  };
  const options = (owner: string) => ({
    agents,
    lease: { owner, ttlMs, adopt: false },
    inbox: { pollMs: 100 },
    passivate: { afterMs: AFTER },
    workflows: [twice],
  });
  return { calls, options };
}

fakeTimersEachTest();

describe('waking a passivated run another replica moved on meanwhile', () => {
  it('restores the state the run had when its lease was taken, not the one read before', async () => {
    const shared = memoryStore();
    const { store: slow, faults } = slowAcquire(shared);
    const { calls, options } = replicas(15_000);
    const a = testEngine({ store: shared, ...options('a') });
    const b = testEngine({ store: slow, ...options('b') });
    a.start(twice, {}, { id: 'stale' });
    await settle(a);
    await pass(AFTER + 500, [a, b]);
    expect(a.active.size + b.active.size).toBe(0);
    expect(await shared.getRun('stale')).toMatchObject({ idle: true, leaseUntil: 0, epoch: 1 });

    // `b` reads the run (waiting for `one`), then is slow to take its lease.
    const gate = deferred<void>();
    faults.acquireGate = gate.promise;
    const woken = b.resume('stale');
    await faults.entered.promise;
    // Meanwhile `a` takes the run back, applies `one`, and passivates it again, waiting for `two`.
    await expect(a.send('stale', { type: 'one', n: 1 })).resolves.toBe(true);
    await pass(AFTER + 500, [a]);
    expect(a.active.size).toBe(0);
    expect(await shared.getRun('stale')).toMatchObject({ idle: true, leaseUntil: 0, epoch: 2 });

    // Now `b` takes the lease (epoch 3): its copy must go on from what the store holds now, waiting for `two`.
    faults.acquireGate = undefined;
    gate.resolve();
    const run = await woken;
    await settle(b);
    expect(await shared.getRun('stale')).toMatchObject({ owner: 'b', epoch: 3 });
    await expect(b.send('stale', { type: 'two', n: 2 })).resolves.toBe(true);
    await pass(1_000, [a, b]);
    await expect(run.result).resolves.toMatchObject({ first: { n: 1 }, second: { n: 2 }, ship: 'SHIP' });
    expect(await shared.getRun('stale')).toMatchObject({ status: 'done' });
    expect(calls).toEqual({ plan: 1, ship: 1 });
    await a.close();
    await b.close();
  });
});

describe('a passivation sweep racing a write', () => {
  it('keeps a run whose last checkpoint is still being written: its release cannot overtake that write', async () => {
    const shared = memoryStore();
    const { store: slow, control } = heldWrites(shared);
    const { calls, options } = replicas(60_000);
    const a = testEngine({ store: slow, ...options('a') });
    const b = testEngine({ store: shared, ...options('b') });
    a.start(twice, {}, { id: 'late' });
    await settle(a);
    await pass(AFTER - 1_000, [a]);
    // A write of `a` in flight and held (another run's claim) when the sweep comes: the sweep's flush waits for it.
    control.holding = true;
    a.start(twice, {}, { id: 'other' });
    await ticks();
    expect(control.held).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_500);
    // Meanwhile the run moves on (its event), still only waiting: its checkpoint queues behind the held write.
    // (Answered once its checkpoint commits.)
    const sent = a.send('late', { type: 'one', n: 1 });
    await ticks();
    // The held write commits: the sweep goes on while the run's checkpoint is taken and written (held too).
    control.held.shift()?.();
    await ticks();
    expect(control.held).toHaveLength(1);
    // Passivated now, its lease released, `b` would take the run from before its event (the write then fenced).
    expect(a.active.has('late')).toBe(true);
    await expect(b.resume('late')).rejects.toMatchObject({ code: 'RUN_OWNED' });
    control.holding = false;
    for (const go of control.held.splice(0)) go();
    await expect(sent).resolves.toBe(true);
    await settle(a);
    await pass(AFTER + 500, [a]);
    expect(a.active.size).toBe(0);
    // Passivated after its checkpoint committed: `b` takes it waiting for `two`, with `one` applied.
    await expect(b.send('late', { type: 'two', n: 2 })).resolves.toBe(true);
    await pass(1_000, [a, b]);
    expect(await shared.getRun('late')).toMatchObject({ status: 'done', owner: 'b' });
    const run = await b.get('late');
    expect(run?.output).toMatchObject({ first: { n: 1 }, second: { n: 2 }, ship: 'SHIP' });
    // Each run planned once (`other` still waits for its event), `late` shipped once.
    expect(calls).toEqual({ plan: 2, ship: 1 });
    await a.close();
    await b.close();
  });
});
