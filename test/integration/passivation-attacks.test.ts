import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ConfigurationError, type EngineOptions, type WorkflowStore, workflow } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import { fakeTimersEachTest, pass, settle } from '../support/durable.js';
import { deferred, testEngine } from '../support/engine.js';

const AFTER = 5_000;

const approval = workflow('atk-approval')
  .step('plan')
  .waitFor('approve', { event: 'approved', schema: z.object({ by: z.string() }), timeoutMs: 3_600_000 })
  .step('ship')
  .build();

const backoff = workflow('atk-backoff')
  .step('plan')
  .step('call', { retry: { attempts: 2, initialMs: 60_000, jitter: 0 } })
  .build();

/** A run that stays busy: its agent never answers (so its engine keeps a lease to renew). */
const busy = workflow('atk-busy').step('hang').build();

const review = workflow('atk-review')
  .step('plan')
  .step('review', { escalate: { to: 'human', timeoutMs: 60_000 } })
  .build();

/** Agents that count their calls; `call` and `review` fail their first attempt. */
function counting() {
  const calls: Record<string, number> = {};
  const agent =
    (name: string, fail = false) =>
    async () => {
      calls[name] = (calls[name] ?? 0) + 1;
      if (fail && calls[name] === 1) throw new Error(`${name} fails first`);
      return name.toUpperCase();
    };
  return {
    calls,
    agents: {
      plan: agent('plan'),
      ship: agent('ship'),
      call: agent('call', true),
      review: agent('review', true),
      hang: () => new Promise<never>(() => {}),
    },
  };
}

/** A memory store whose `release` can be made to fail (a store outage) or to wait (a slow commit). */
function faultyStore() {
  const inner = memoryStore();
  const faults = {
    releaseDown: false,
    releaseGate: undefined as Promise<void> | undefined,
    writeGate: undefined as Promise<void> | undefined,
    releases: 0,
  };
  const store: WorkflowStore = {
    ...inner,
    async write(batch) {
      await faults.writeGate;
      return inner.write(batch);
    },
    async release(owner, leases) {
      faults.releases++;
      if (faults.releaseDown) throw new Error('store down');
      await faults.releaseGate;
      return inner.release(owner, leases);
    },
  };
  return { store, faults };
}

function engineOn(store: WorkflowStore, owner: string, options: EngineOptions = {}) {
  return testEngine({
    store,
    lease: { owner, ttlMs: 15_000, adopt: false },
    inbox: { pollMs: 100 },
    passivate: { afterMs: AFTER },
    workflows: [approval, backoff, review, busy],
    ...options,
  });
}

fakeTimersEachTest();

describe('passivation under attack', () => {
  it('a release that fails (store down at passivation) is retried: its renewals do not keep the run from its timer', async () => {
    const { store, faults } = faultyStore();
    const { calls, agents } = counting();
    const engine = engineOn(store, 'a', { agents });
    const run = engine.start(backoff, {}, { id: 'rel1' });
    // A busy run keeps this engine renewing: a renewal takes every lease of the owner the store still shows.
    engine.start(busy, {}, { id: 'rel-busy' });
    await settle(engine);
    faults.releaseDown = true;
    await pass(AFTER + 500, [engine]);
    expect([...engine.active.keys()]).toEqual(['rel-busy']);
    expect(faults.releases).toBeGreaterThan(0);
    faults.releaseDown = false;
    // The store is back: renewals succeed again (every ttl/3), the retry is due (the release must win over them).
    await pass(70_000, [engine]);
    expect(await engine.get('rel1')).toMatchObject({ status: 'done' });
    await expect(run.result).resolves.toEqual({ plan: 'PLAN', call: 'CALL' });
    expect(calls.call).toBe(2);
    expect(calls.plan).toBe(1);
    await engine.close();
  });

  it('a replica restarted with the same owner does not renew the leases of runs its dead self left idle: they come due', async () => {
    const shared = memoryStore();
    // The first process dies: from then on none of its store calls returns (its timers still fire, in this process).
    let dead = false;
    const hang = new Promise<never>(() => {});
    const dying = Object.fromEntries(
      Object.entries(shared).map(([name, fn]) => [
        name,
        (...args: unknown[]) => (dead ? hang : (fn as (...a: unknown[]) => unknown).apply(shared, args)),
      ]),
    ) as unknown as WorkflowStore;
    const { calls, agents } = counting();
    const first = engineOn(dying, 'n1', { agents });
    first.start(backoff, {}, { id: 'left' });
    first.start(approval, {}, { id: 'left-ev' });
    await pass(1_000, [first]);
    expect(await shared.getRun('left')).toMatchObject({ idle: true, owner: 'n1' });
    dead = true;
    // Restarted under the same owner, with a run of its own: its renewals take every lease of `n1` in the store.
    const second = engineOn(shared, 'n1', { agents });
    await second.recover();
    second.start(busy, {}, { id: 'own' });
    const other = engineOn(shared, 'n2', { agents });
    await pass(90_000, [second, other]);
    expect(await shared.getRun('left')).toMatchObject({ status: 'done' });
    expect(calls.call).toBe(2);
    // And an event another replica sends to the other idle run reaches it.
    await expect(other.send('left-ev', { type: 'approved', by: 'n2' }, { timeoutMs: 10_000 })).resolves.toBe(
      true,
    );
    await pass(2_000, [second, other]);
    expect(await shared.getRun('left-ev')).toMatchObject({ status: 'done' });
    await other.close();
    await second.close();
  });

  it('an event sent while the release of its passivation commits is applied once, after the release', async () => {
    const { store, faults } = faultyStore();
    const { calls, agents } = counting();
    const engine = engineOn(store, 'a', { agents });
    const other = engineOn(store, 'b', { agents });
    const run = engine.start(approval, {}, { id: 'ev1' });
    const run2 = engine.start(approval, {}, { id: 'ev2' });
    await settle(engine);
    const gate = deferred<void>();
    faults.releaseGate = gate.promise;
    await pass(AFTER + 250, [engine]);
    expect(engine.active.size).toBe(0);
    // Passivated here, its release not yet committed: this engine takes it back after the release; another
    // engine posts to the inbox (the lease still looks live) and the scheduler wakes the run for it.
    const here = engine.send('ev1', { type: 'approved', by: 'here' });
    const there = other.send('ev2', { type: 'approved', by: 'there' });
    await pass(500, [engine, other]);
    gate.resolve();
    faults.releaseGate = undefined;
    await pass(3_000, [engine, other]);
    await expect(here).resolves.toBe(true);
    await expect(there).resolves.toBe(true);
    await expect(run.result).resolves.toMatchObject({ approve: { by: 'here' }, ship: 'SHIP' });
    await pass(500, [engine, other]);
    expect(await engine.get('ev2')).toMatchObject({ status: 'done', output: { approve: { by: 'there' } } });
    expect(calls.ship).toBe(2);
    expect(calls.plan).toBe(2);
    await run2.result.catch(() => {});
    await other.close();
    await engine.close();
  });

  it('a late release of a passivated lease does not cut off the copy that took the run back since (same owner id)', async () => {
    const { store, faults } = faultyStore();
    const { calls, agents } = counting();
    let ships = 0;
    const shipping = {
      ...agents,
      ship: () => {
        ships++;
        return new Promise<never>(() => {});
      },
    };
    // Two engines under one owner id (a replica restarted while its old process still runs): either may take it.
    const old = engineOn(store, 'n1', { agents: shipping });
    const fresh = engineOn(store, 'n1', { agents: shipping });
    // A third replica adopts busy runs whose lease ended: it would take the run from `fresh` if its lease were cut.
    const adopter = testEngine({
      store,
      lease: { owner: 'n3', ttlMs: 15_000, adopt: true },
      inbox: { pollMs: 100 },
      agents: shipping,
      workflows: [approval],
    });
    old.start(approval, {}, { id: 'late' });
    await settle(old);
    const gate = deferred<void>();
    faults.releaseGate = gate.promise;
    await pass(AFTER + 250, [old]);
    expect(old.active.size).toBe(0);
    // The release of `old` (epoch 1) is slow to commit; `fresh` takes the run meanwhile (epoch 2) and works on it.
    await expect(fresh.send('late', { type: 'approved', by: 'fresh' })).resolves.toBe(true);
    await pass(250, [fresh]);
    expect(await store.getRun('late')).toMatchObject({ owner: 'n1', epoch: 2 });
    expect(ships).toBe(1);
    gate.resolve();
    faults.releaseGate = undefined;
    await pass(20_000, [old, fresh, adopter]);
    // The stale release ended nothing: the run stays with `fresh`, not adopted, its step not called again.
    expect([...fresh.active.keys()]).toEqual(['late']);
    expect(adopter.active.size).toBe(0);
    expect(await store.getRun('late')).toMatchObject({ owner: 'n1', epoch: 2 });
    expect((await store.getRun('late'))?.leaseUntil).toBeGreaterThan(Date.now());
    expect(ships).toBe(1);
    expect(calls.plan).toBe(1);
    await adopter.close();
    await old.close();
    await fresh.close();
  });

  it('an event sent while the sweep commits what was queued before it is applied once, and the run is not passivated', async () => {
    const { store, faults } = faultyStore();
    const { calls, agents } = counting();
    const engine = engineOn(store, 'a', { agents });
    const run = engine.start(approval, {}, { id: 'fl1' });
    await settle(engine);
    await pass(AFTER - 250, [engine]);
    // Another run's first checkpoint is being written (slowly) when the sweep starts: the sweep waits for it.
    const gate = deferred<void>();
    faults.writeGate = gate.promise;
    engine.start(busy, {}, { id: 'fl-busy' });
    await vi.advanceTimersByTimeAsync(500);
    expect(engine.active.has('fl1')).toBe(true);
    // Answered once its checkpoint commits, behind the held write.
    const sent = engine.send('fl1', { type: 'approved', by: 'now' });
    faults.writeGate = undefined;
    gate.resolve();
    await expect(sent).resolves.toBe(true);
    await pass(AFTER + 500, [engine]);
    await expect(run.result).resolves.toMatchObject({ approve: { by: 'now' }, ship: 'SHIP' });
    expect(calls.ship).toBe(1);
    expect(await engine.get('fl1')).toMatchObject({ status: 'done' });
    await engine.close();
  });

  it('a decision racing the due-timer wake on two replicas is applied once, before the escalation times out', async () => {
    const { calls, agents } = counting();
    const shared = memoryStore();
    const one = engineOn(shared, 'a', { agents });
    const two = engineOn(shared, 'b', { agents });
    one.start(review, {}, { id: 'race' });
    await pass(AFTER + 500, [one, two]);
    expect(one.active.size + two.active.size).toBe(0);
    // Woken by a scheduler 1 s ahead of its 60 s escalation deadline; the decision comes in the same instant.
    const [timer] = await shared.listTimers('race');
    await pass((timer?.deadline ?? 0) - Date.now() - 1_000, [one, two]);
    const decided = two.resolveEscalation('race', 'review', { action: 'skip', value: 'ok' });
    await pass(3_000, [one, two]);
    await decided;
    expect(await one.get('race')).toMatchObject({ status: 'done', output: { plan: 'PLAN', review: 'ok' } });
    expect(calls.review).toBe(1);
    expect(calls.plan).toBe(1);
    await one.close();
    await two.close();
  });

  it('wakes a passivated run of a changed definition through its migration, with the new version', async () => {
    const store = memoryStore();
    const { agents } = counting();
    const first = engineOn(store, 'a', { agents });
    first.start(approval, {}, { id: 'mig' });
    await pass(AFTER + 500, [first]);
    expect(first.active.size).toBe(0);
    await first.close();
    const changed = workflow('atk-approval')
      .step('plan')
      .waitFor('approve', { event: 'approved', schema: z.object({ by: z.string() }), timeoutMs: 3_600_000 })
      .step('ship')
      .step('notify')
      .build();
    expect(changed.version).not.toBe(approval.version);
    const seen: string[] = [];
    const second = engineOn(store, 'b', {
      agents: { ...agents, notify: async () => 'NOTIFIED' },
      workflows: [changed],
      migrate: {
        'atk-approval': (stored) => {
          seen.push(stored.version);
          return { action: 'snapshot', snapshot: stored.snapshot };
        },
      },
    });
    await expect(second.send('mig', { type: 'approved', by: 'b' })).resolves.toBe(true);
    await pass(500, [second]);
    expect(seen).toEqual([approval.version]);
    expect(await second.get('mig')).toMatchObject({
      status: 'done',
      version: changed.version,
      output: { ship: 'SHIP', notify: 'NOTIFIED' },
    });
    await second.close();
  });

  it('an engine without passivate beside one with it loses nothing, and leaves the released runs in the store until due', async () => {
    const store = memoryStore();
    const { calls, agents } = counting();
    const parking = engineOn(store, 'a', { agents });
    const plain = testEngine({
      store,
      lease: { owner: 'plain', ttlMs: 15_000, adopt: true },
      inbox: { pollMs: 100 },
      agents,
      workflows: [approval, backoff],
    });
    parking.start(backoff, {}, { id: 'mix' });
    await pass(AFTER + 500, [parking, plain]);
    expect(parking.active.size).toBe(0);
    // Its adoption rounds (every ttl/2) find the released lease, but the run only waits: it stays in the store.
    await pass(30_000, [parking, plain]);
    expect(plain.active.size + parking.active.size).toBe(0);
    await pass(40_000, [parking, plain]);
    expect(await plain.get('mix')).toMatchObject({ status: 'done' });
    expect(calls.call).toBe(2);
    await parking.close();
    await plain.close();
  });

  it('a run object kept by its caller settles with a run passivated and woken twice, its middle copy collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const twice = workflow('atk-twice')
      .step('plan')
      .waitFor('first', { event: 'first', timeoutMs: 3_600_000 })
      .waitFor('second', { event: 'second', timeoutMs: 3_600_000 })
      .step('ship')
      .build();
    const { calls, agents } = counting();
    const engine = engineOn(memoryStore(), 'a', { agents, workflows: [twice] });
    const run = engine.start(twice, {}, { id: 'tw' });
    await pass(AFTER + 500, [engine]);
    expect(engine.active.size).toBe(0);
    await expect(engine.send('tw', { type: 'first' })).resolves.toBe(true);
    // The woken copy waits again and is passivated again; nothing but the engine's weak reference held it.
    await pass(AFTER + 500, [engine]);
    expect(engine.active.size).toBe(0);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      gc();
    }
    await expect(engine.send('tw', { type: 'second' })).resolves.toBe(true);
    await pass(500, [engine]);
    expect(await engine.get('tw')).toMatchObject({ status: 'done' });
    let settled = false;
    void run.result.then(() => {
      settled = true;
    });
    await pass(250, [engine]);
    expect(settled).toBe(true);
    await expect(run.result).resolves.toMatchObject({ ship: 'SHIP' });
    expect(calls.ship).toBe(1);
    await engine.close();
  });

  it('a result read before its run was passivated (twice) settles as the woken copy does; a failure raises nothing unhandled', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const unhandled: unknown[] = [];
    const listen = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listen);
    try {
      const twice = workflow('atk-read-early')
        .step('plan')
        .waitFor('first', { event: 'first', timeoutMs: 3_600_000 })
        .waitFor('second', { event: 'second', timeoutMs: 3_600_000 })
        .step('ship')
        .build();
      const { calls, agents } = counting();
      const engine = engineOn(memoryStore(), 'a', { agents, workflows: [twice] });
      const kept = engine.start(twice, {}, { id: 're1' });
      const dropped = engine.start(twice, {}, { id: 're2' });
      const early = kept.result;
      // Read, and never awaited: its rejection must not go unhandled.
      void dropped.result;
      await pass(AFTER + 500, [engine]);
      expect(engine.active.size).toBe(0);
      for (const id of ['re1', 're2']) await expect(engine.send(id, { type: 'first' })).resolves.toBe(true);
      await pass(AFTER + 500, [engine]);
      expect(engine.active.size).toBe(0);
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setImmediate(r));
        gc();
      }
      await expect(engine.send('re1', { type: 'second' })).resolves.toBe(true);
      await engine.cancel('re2', 'not wanted');
      await pass(500, [engine]);
      expect(kept.result).toBe(early);
      await expect(early).resolves.toMatchObject({ ship: 'SHIP' });
      await expect(dropped.result).rejects.toMatchObject({ code: 'CANCELLED' });
      expect(kept.status).toBe('done');
      expect(dropped.status).toBe('cancelled');
      expect(calls.ship).toBe(1);
      expect(unhandled).toEqual([]);
      await engine.close();
    } finally {
      process.off('unhandledRejection', listen);
    }
  });

  it('compensates once a passivated run whose wait times out, and compensates nothing on a cancel (as in memory)', async () => {
    const saga = workflow('atk-saga', { onError: 'compensate' })
      .step('plan', { compensate: 'undo' })
      .waitFor('approve', { event: 'approved', timeoutMs: 60_000 })
      .step('ship')
      .build();
    const { calls, agents } = counting();
    let undone = 0;
    const engine = engineOn(memoryStore(), 'a', {
      agents: {
        ...agents,
        undo: async () => {
          undone++;
          return 'undone';
        },
      },
      workflows: [saga],
    });
    const timedOut = engine.start(saga, {}, { id: 'saga-t' });
    const cancelled = engine.start(saga, {}, { id: 'saga-c' });
    await pass(AFTER + 500, [engine]);
    expect(engine.active.size).toBe(0);
    await engine.cancel('saga-c', 'changed my mind');
    await expect(cancelled.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(undone).toBe(0);
    // Woken ahead of its deadline by the scheduler; the wait times out in memory and the compensation runs once.
    await pass(60_000, [engine]);
    await expect(timedOut.result).rejects.toMatchObject({ code: expect.any(String) });
    expect(await engine.get('saga-t')).toMatchObject({ status: 'compensated' });
    expect(undone).toBe(1);
    expect(calls.ship).toBeUndefined();
    await engine.close();
  });

  it('a due passivated run that cannot be restored (corrupt) is tried once, not at every read of the scheduler', async () => {
    const { store } = faultyStore();
    let acquired = 0;
    let corrupt = false;
    const broken: WorkflowStore = {
      ...store,
      async acquire(...args) {
        if (args[0] === 'bad') acquired++;
        return store.acquire(...args);
      },
      async getRun(id) {
        const run = await store.getRun(id);
        return run && corrupt && id === 'bad' ? { ...run, snapshot: '{"not json' } : run;
      },
    };
    const { agents } = counting();
    const engine = engineOn(broken, 'a', { agents });
    engine.start(backoff, {}, { id: 'bad' });
    await pass(AFTER + 500, [engine]);
    expect(engine.active.size).toBe(0);
    corrupt = true;
    // Due in about a minute; then a minute of the scheduler's reads (one a second).
    await pass(120_000, [engine]);
    expect(acquired).toBe(1);
    expect(await engine.get('bad')).toMatchObject({ status: 'running' });
    await engine.close();
  });

  it('a run object kept by its caller: passivated, it says so; woken here, it passes events and decisions on', async () => {
    const steps = workflow('atk-forward')
      .step('plan')
      .waitFor('first', { event: 'first', timeoutMs: 3_600_000 })
      .step('review', { escalate: { to: 'human', timeoutMs: 3_600_000 } })
      .build();
    const { calls, agents } = counting();
    const engine = engineOn(memoryStore(), 'a', { agents, workflows: [steps] });
    const run = engine.start(steps, {}, { id: 'fw' });
    await pass(AFTER + 500, [engine]);
    expect(engine.active.size).toBe(0);
    // Passivated: nothing waits in this copy; a decision names why, and how to reach the run.
    expect(run.send({ type: 'first' })).toBe(false);
    expect(() => run.resolveEscalation('plan', { action: 'retry' })).toThrow(/passivated/);
    await expect(engine.send('fw', { type: 'nothing-waits-for-this' })).resolves.toBe(false);
    await pass(500, [engine]);
    // Woken here (by an event no step takes): the kept object passes the real one on to the woken copy.
    expect(engine.active.size).toBe(1);
    expect(run.send({ type: 'first' })).toBe(true);
    await pass(500, [engine]);
    expect(run.waitingSteps()).toEqual(['review']);
    run.resolveEscalation('review', { action: 'skip', value: 'fine' });
    await expect(run.result).resolves.toMatchObject({ review: 'fine' });
    expect(calls.review).toBe(1);
    await engine.close();
  });

  it("a run object kept by its caller tells a passivated run's status as it was, not `cancelled`; then its woken copy's", async () => {
    const { agents } = counting();
    const engine = engineOn(memoryStore(), 'a', { agents });
    const run = engine.start(approval, {}, { id: 'st' });
    const seen: number[] = [];
    let completed = false;
    run.progress$.subscribe({ next: (p) => seen.push(p.percent), complete: () => (completed = true) });
    await pass(AFTER + 500, [engine]);
    expect(engine.active.size).toBe(0);
    expect(await engine.get('st')).toMatchObject({ status: 'waiting' });
    expect(run.status).toBe('waiting');
    expect(run.waitingSteps()).toEqual(['approve']);
    // Its progress stream completes (documented), never having shown the run as ended.
    expect(completed).toBe(true);
    expect(Math.max(...seen)).toBeLessThan(100);
    await expect(engine.send('st', { type: 'approved', by: 'x' })).resolves.toBe(true);
    await pass(500, [engine]);
    await run.result;
    expect(run.status).toBe('done');
    await engine.close();
  });

  describe('secrets', () => {
    const secret = workflow('atk-secret', { secrets: ['input.apiKey'] })
      .step('plan', { input: (ctx) => ({ key: (ctx.input as { apiKey: string }).apiKey }) })
      .waitFor('approve', { event: 'approved', timeoutMs: 3_600_000 })
      .step('ship', { input: (ctx) => ({ key: (ctx.input as { apiKey: string }).apiKey }) })
      .build();
    const seal = {
      seal: (v: string) => `sealed:${Buffer.from(v).toString('base64')}`,
      open: (t: string) => Buffer.from(t.slice('sealed:'.length), 'base64').toString(),
    };
    const secretEngine = (store: WorkflowStore, keys: unknown[], options: EngineOptions = {}) =>
      engineOn(store, 'a', {
        workflows: [secret],
        agents: {
          plan: async (i: { key: string }) => `plan with ${i.key}`,
          ship: async (i: { key: string }) => {
            keys.push(i.key);
            return 'shipped';
          },
        },
        ...options,
      });

    it('keeps the secrets of a passivated run sealed in its checkpoint, and opens them when it is woken', async () => {
      const store = memoryStore();
      const keys: unknown[] = [];
      const engine = secretEngine(store, keys, { secrets: seal });
      engine.start(secret, { apiKey: 'sk-canary-123' }, { id: 'sec' });
      await pass(AFTER + 500, [engine]);
      expect(engine.active.size).toBe(0);
      const stored = await store.getRun('sec');
      expect(stored?.idle).toBe(true);
      expect(JSON.stringify(stored)).not.toContain('sk-canary-123');
      expect(JSON.stringify(await store.listJournal?.('sec'))).not.toContain('sk-canary-123');
      await expect(engine.send('sec', { type: 'approved' })).resolves.toBe(true);
      await pass(500, [engine]);
      expect(keys).toEqual(['sk-canary-123']);
      expect(JSON.stringify(await store.getRun('sec'))).not.toContain('sk-canary-123');
      await engine.close();
    });

    it('keeps in memory a run whose secrets are redacted in the store (no secrets hook): woken, it would lose them', async () => {
      const store = memoryStore();
      const keys: unknown[] = [];
      const engine = secretEngine(store, keys);
      engine.start(secret, { apiKey: 'sk-canary-123' }, { id: 'red' });
      await pass(AFTER * 3, [engine]);
      expect([...engine.active.keys()]).toEqual(['red']);
      expect(JSON.stringify(await store.getRun('red'))).not.toContain('sk-canary-123');
      await expect(engine.send('red', { type: 'approved' })).resolves.toBe(true);
      await pass(500, [engine]);
      expect(keys).toEqual(['sk-canary-123']);
      await engine.close();
    });
  });
});

describe('passivate options', () => {
  const make = (passivate: unknown) => () =>
    testEngine({ store: memoryStore(), passivate: passivate as { afterMs: number } });

  it.each([
    [{ afterMs: -1 }, /passivate\.afterMs.*got -1/],
    [{ afterMs: Number.NaN }, /passivate\.afterMs.*got NaN/],
    [{ afterMs: Number.POSITIVE_INFINITY }, /passivate\.afterMs.*got Infinity/],
    [{ afterMs: '5000' }, /passivate\.afterMs.*got "5000"/],
    [{}, /passivate\.afterMs.*got undefined/],
    [{ afterMs: 1e12 }, /passivate\.afterMs.*at most 2147483647/],
    [{ afterMs: 1_000, pollMs: 1e12 }, /passivate\.pollMs.*at most 2147483647/],
    [{ afterMs: 1_000, wakeAheadMs: 2 ** 31 }, /passivate\.wakeAheadMs.*at most 2147483647/],
  ])('refuses %o with a typed error naming the option', (options, message) => {
    expect(make(options)).toThrow(ConfigurationError);
    expect(make(options)).toThrow(message);
  });

  it('takes the largest timer delay Node keeps', async () => {
    const engine = make({ afterMs: 2_147_483_647, pollMs: 2_147_483_647, wakeAheadMs: 1 })();
    await engine.close();
  });
});
