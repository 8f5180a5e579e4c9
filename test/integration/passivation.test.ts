import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it, vi } from 'vitest';
import { setup } from 'xstate';
import { z } from 'zod';
import { ConfigurationError, type EngineOptions, type WorkflowStore, workflow } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import { fakeTimersEachTest, pass, settle, sqliteScratch } from '../support/durable.js';
import { testEngine } from '../support/engine.js';

const files = sqliteScratch('flowstate-passivate-');
const AFTER = 5_000;

/** Agents that count their calls by name (and when, in fake time). */
function counting(behaviour: Record<string, (n: number) => unknown> = {}) {
  const calls: Record<string, number[]> = {};
  const agent = (name: string) => async () => {
    const list = calls[name] ?? [];
    calls[name] = list;
    list.push(Date.now());
    const act = behaviour[name];
    return act ? act(list.length) : name.toUpperCase();
  };
  const agents = { plan: agent('plan'), ship: agent('ship'), review: agent('review'), call: agent('call') };
  return { calls, agent, agents };
}

const approval = workflow('pass-approval')
  .step('plan')
  .waitFor('approve', { event: 'approved', schema: z.object({ by: z.string() }), timeoutMs: 3_600_000 })
  .step('ship')
  .build();

const review = workflow('pass-review')
  .step('plan')
  .step('review', { escalate: { to: 'human', timeoutMs: 3_600_000 } })
  .build();

const backoff = workflow('pass-backoff')
  .step('plan')
  .step('call', { retry: { attempts: 2, initialMs: 60_000, jitter: 0 } })
  .build();

function engineOn(store: WorkflowStore, owner: string, options: EngineOptions = {}) {
  return testEngine({
    store,
    lease: { owner, ttlMs: 15_000, adopt: false },
    inbox: { pollMs: 100 },
    passivate: { afterMs: AFTER },
    workflows: [approval, review, backoff],
    ...options,
  });
}

/** Fake time passes in small steps, so store I/O (real setImmediate) keeps up with the timers it arms. */

fakeTimersEachTest();

describe('passivation', () => {
  it('drops a run waiting for an event from memory; engine.send brings it back and it finishes, nothing re-run', async () => {
    const { calls, agents } = counting();
    const engine = engineOn(files.store, 'a', { agents });
    const run = engine.start(approval, {}, { id: 'p1' });
    await settle(engine);
    expect(engine.active.size).toBe(1);
    const before = await files.store.getRun('p1');
    await pass(AFTER + 500, [engine]);
    expect(engine.active.size).toBe(0);
    const stored = await engine.get('p1');
    expect(stored).toMatchObject({ status: 'waiting', idle: true, leaseUntil: 0 });
    // Stopped without a write: not cancelled, its checkpoint (what get, list, the web view and the CLI read) as it was.
    const after = await files.store.getRun('p1');
    expect(after?.snapshot).toBe(before?.snapshot);
    expect(after?.updatedAt).toBe(before?.updatedAt);
    expect(await files.store.listTimers('p1')).toEqual([
      { runId: 'p1', stepPath: 'approve', kind: 'wait', deadline: 3_600_000 },
    ]);
    expect(await engine.list({ status: 'waiting' })).toHaveLength(1);
    await expect(engine.send('p1', { type: 'approved', by: 'ada' })).resolves.toBe(true);
    // The run object the caller kept follows the woken copy.
    await expect(run.result).resolves.toEqual({ plan: 'PLAN', approve: { by: 'ada' }, ship: 'SHIP' });
    expect(calls.plan).toHaveLength(1);
    expect(calls.ship).toHaveLength(1);
    expect(await engine.get('p1')).toMatchObject({ status: 'done' });
    await engine.close();
  });

  it('refuses a bad event payload of a passivated run with its typed error, and keeps it waiting', async () => {
    const { agents } = counting();
    const engine = engineOn(files.store, 'a', { agents });
    engine.start(approval, {}, { id: 'p2' });
    await pass(AFTER + 500, [engine]);
    expect(engine.active.size).toBe(0);
    await expect(engine.send('p2', { type: 'approved', by: 42 })).rejects.toMatchObject({
      code: 'INPUT_INVALID',
    });
    expect(await engine.get('p2')).toMatchObject({ status: 'waiting' });
    await engine.close();
  });

  it('wakes a run escalated to a human on its decision', async () => {
    const { calls, agents } = counting({
      review: () => {
        throw new Error('needs a human');
      },
    });
    const engine = engineOn(files.store, 'a', { agents });
    const run = engine.start(review, {}, { id: 'd1' });
    await pass(AFTER + 500, [engine]);
    expect(engine.active.size).toBe(0);
    expect(await engine.get('d1')).toMatchObject({ status: 'waiting', idle: true });
    await engine.resolveEscalation('d1', 'review', { action: 'skip', value: 'approved' });
    await expect(run.result).resolves.toEqual({ plan: 'PLAN', review: 'approved' });
    expect(calls.plan).toHaveLength(1);
    expect(calls.review).toHaveLength(1);
    await engine.close();
  });

  it('wakes a run on its due timer: the retry runs at its deadline, not before, with one scheduler', async () => {
    const { calls, agents } = counting({
      call: (n) => {
        if (n === 1) throw new Error('first attempt fails');
        return 'ok';
      },
    });
    const engine = engineOn(files.store, 'a', { agents });
    const run = engine.start(backoff, {}, { id: 't1' });
    await settle(engine);
    const failedAt = calls.call?.[0] ?? -1;
    expect(failedAt).toBeGreaterThanOrEqual(0);
    const [timer] = await files.store.listTimers('t1');
    expect(timer).toMatchObject({ runId: 't1', stepPath: 'call', kind: 'backoff' });
    const deadline = timer?.deadline ?? 0;
    expect(deadline - failedAt).toBeGreaterThan(AFTER + 10_000);
    await pass(AFTER + 500, [engine]);
    expect(engine.active.size).toBe(0);
    await pass(deadline - Date.now() - 800, [engine]);
    // Woken a little ahead of the deadline, still waiting for it.
    expect(engine.active.size).toBe(1);
    expect(calls.call).toHaveLength(1);
    await pass(1_500, [engine]);
    await expect(run.result).resolves.toEqual({ plan: 'PLAN', call: 'ok' });
    expect(calls.call).toEqual([failedAt, deadline]);
    expect(calls.plan).toHaveLength(1);
    await engine.close();
  });

  it('cancels a passivated run', async () => {
    const { agents } = counting();
    const engine = engineOn(files.store, 'a', { agents });
    const run = engine.start(approval, {}, { id: 'c1' });
    await pass(AFTER + 500, [engine]);
    expect(engine.active.size).toBe(0);
    await engine.cancel('c1', 'no longer needed');
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(await engine.get('c1')).toMatchObject({ status: 'cancelled' });
    await engine.close();
  });

  it('applies a signal another engine posted (it has not the definition): the scheduler wakes the run', async () => {
    const { calls, agents } = counting();
    const store = files.store;
    const owner = engineOn(store, 'a', { agents });
    const run = owner.start(approval, {}, { id: 's1' });
    await pass(AFTER + 500, [owner]);
    expect(owner.active.size).toBe(0);
    // A process without the workflow (an operator's CLI) can only post the signal.
    const other = testEngine({ store: files.restartedStore(), lease: { owner: 'cli', adopt: false } });
    const sent = other.send('s1', { type: 'approved', by: 'cli' });
    await pass(2_000, [owner]);
    await expect(sent).resolves.toBe(true);
    await pass(500, [owner]);
    await expect(run.result).resolves.toMatchObject({ approve: { by: 'cli' } });
    expect(calls.ship).toHaveLength(1);
    await other.close();
    await owner.close();
  });

  it('reads a signal to a passivated run at once though the engine clock lags wall time by hours', async () => {
    vi.setSystemTime(10 * 3_600_000);
    const LAG = 2 * 3_600_000;
    // The engine's own clock: its timers are the (fake) global ones, its time two hours behind the wall's.
    const lagging = {
      now: () => Date.now() - LAG,
      setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms),
      clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    };
    const { calls, agents } = counting();
    const store = files.store;
    const owner = engineOn(store, 'a', { agents, clock: lagging });
    const run = owner.start(approval, {}, { id: 'lag1' });
    await pass(AFTER + 500, [owner]);
    expect(owner.active.size).toBe(0);
    // Its wait times out an hour from now by the engine's clock: an hour before the signal's (wall) post time.
    expect(await store.listTimers('lag1')).toEqual([
      { runId: 'lag1', stepPath: 'approve', kind: 'wait', deadline: lagging.now() - AFTER - 500 + 3_600_000 },
    ]);
    const other = testEngine({ store: files.restartedStore(), lease: { owner: 'cli', adopt: false } });
    const sent = other.send('lag1', { type: 'approved', by: 'cli' }, { timeoutMs: 3_000 });
    const settled = sent.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    await pass(3_500, [owner]);
    expect(await settled).toEqual({ value: true });
    await pass(500, [owner]);
    await expect(run.result).resolves.toMatchObject({ approve: { by: 'cli' }, ship: 'SHIP' });
    expect(calls.ship).toHaveLength(1);
    await other.close();
    await owner.close();
  });

  it('an engine without passivate beside one with it does not adopt its passivated runs; it takes them when due', async () => {
    const { calls, agents } = counting({
      call: (n) => {
        if (n === 1) throw new Error('call fails first');
        return 'CALL';
      },
    });
    const parking = engineOn(files.store, 'parks', { agents });
    // Adopts every ttl/2 (7.5 s), has no wake-up scheduler.
    const plain = testEngine({
      store: files.restartedStore(),
      lease: { owner: 'plain', ttlMs: 15_000, adopt: true },
      inbox: { pollMs: 100 },
      agents,
      workflows: [approval, backoff],
    });
    parking.start(approval, {}, { id: 'ev' });
    const retried = parking.start(backoff, {}, { id: 'timer' });
    await pass(AFTER + 500, [parking, plain]);
    expect(parking.active.size).toBe(0);
    expect(await files.store.getRun('ev')).toMatchObject({ idle: true, leaseUntil: 0 });
    const [timer] = await files.store.listTimers('timer');
    const deadline = timer?.deadline ?? 0;
    expect(deadline).toBeGreaterThan(20_000);
    // Adoption rounds (every 7.5 s) until well before the deadline: the passivated runs are in the store only.
    await pass(deadline - 16_000 - Date.now(), [parking, plain]);
    expect(parking.active.size + plain.active.size).toBe(0);
    // The retry's deadline wakes its run once, on one of the engines, and the retry runs on time.
    await pass(18_000, [parking, plain]);
    expect(calls.call).toEqual([0, deadline]);
    expect(await files.store.getRun('timer')).toMatchObject({ status: 'done' });
    if (parking.active.has('timer') || (await files.store.getRun('timer'))?.owner === 'parks')
      await expect(retried.result).resolves.toEqual({ plan: 'PLAN', call: 'CALL' });
    // Rounds later, the run that waits for an event is still in the store only.
    await pass(30_000, [parking, plain]);
    expect(parking.active.has('ev') || plain.active.has('ev')).toBe(false);
    // The event run is woken only when addressed; the engine without passivate can wake it by its event.
    expect(await files.store.getRun('ev')).toMatchObject({ status: 'waiting', leaseUntil: 0 });
    await expect(plain.send('ev', { type: 'approved', by: 'plain' })).resolves.toBe(true);
    await pass(500, [parking, plain]);
    expect(await files.store.getRun('ev')).toMatchObject({
      status: 'done',
      output: { approve: { by: 'plain' } },
    });
    await parking.close();
    await plain.close();
  });

  it('an engine without passivate left alone on the store wakes the passivated runs when due or signalled', async () => {
    const { calls, agents } = counting({
      call: (n) => {
        if (n === 1) throw new Error('call fails first');
        return 'CALL';
      },
    });
    const parking = engineOn(files.store, 'parks', { agents });
    parking.start(approval, {}, { id: 'alone-ev' });
    parking.start(backoff, {}, { id: 'alone-timer' });
    await pass(AFTER + 500, [parking]);
    expect(parking.active.size).toBe(0);
    await parking.close();
    const reader = files.restartedStore();
    const deadline = (await reader.listTimers('alone-timer'))[0]?.deadline ?? 0;
    const plain = testEngine({
      store: files.restartedStore(),
      lease: { owner: 'plain', ttlMs: 15_000, adopt: true },
      inbox: { pollMs: 100 },
      agents,
      workflows: [approval, backoff],
    });
    // A process without the definitions posts a signal: the adoption round finds the run signalled and takes it.
    const cli = testEngine({ store: files.restartedStore(), lease: { owner: 'cli', adopt: false } });
    const sent = cli.send('alone-ev', { type: 'approved', by: 'cli' }, { timeoutMs: 10_000 });
    await pass(9_000, [plain]);
    await expect(sent).resolves.toBe(true);
    await pass(500, [plain]);
    expect(await reader.getRun('alone-ev')).toMatchObject({ status: 'done' });
    // The timer run is taken before its deadline and its retry runs on time, in this engine.
    expect(plain.active.has('alone-timer')).toBe(false);
    await pass(deadline + 1_000 - Date.now(), [plain]);
    expect(calls.call).toEqual([0, deadline]);
    expect(await reader.getRun('alone-timer')).toMatchObject({ status: 'done', owner: 'plain' });
    await cli.close();
    await plain.close();
    await reader.close();
  });

  it('two replicas on one store: exactly one wakes a due run, and either can wake it by an event', async () => {
    const { calls, agents } = counting({
      call: (n) => {
        if (n === 1) throw new Error('first attempt fails');
        return 'ok';
      },
    });
    const a = engineOn(files.store, 'a', { agents });
    const b = engineOn(files.restartedStore(), 'b', { agents });
    a.start(backoff, {}, { id: 'r1' });
    a.start(approval, {}, { id: 'r2' });
    await pass(AFTER + 500, [a, b]);
    expect(a.active.size + b.active.size).toBe(0);
    // The event reaches the run through the other replica: the released lease lets it take the run.
    await expect(b.send('r2', { type: 'approved', by: 'b' })).resolves.toBe(true);
    await pass(60_000, [a, b]);
    expect(await a.get('r1')).toMatchObject({ status: 'done', output: { plan: 'PLAN', call: 'ok' } });
    expect(await a.get('r2')).toMatchObject({ status: 'done', output: { approve: { by: 'b' } } });
    // One attempt before passivation, one after the wake-up: no replica ran the retry twice.
    expect(calls.call).toHaveLength(2);
    expect(calls.plan).toHaveLength(2);
    expect(calls.ship).toHaveLength(1);
    await a.close();
    await b.close();
  });

  it('keeps a busy run in memory, and a run whose deadline is close', async () => {
    const engine = engineOn(files.store, 'a', {
      agents: { ...counting().agents, plan: () => new Promise(() => {}) },
      passivate: { afterMs: 100, wakeAheadMs: 10_000 },
    });
    engine.start(backoff, {}, { id: 'busy' });
    await pass(1_000, [engine]);
    expect(engine.active.size).toBe(1);
    expect(await engine.get('busy')).not.toHaveProperty('idle');
    await engine.close();
  });

  it('holds no passivated run in memory: its actor is collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const engine = engineOn(files.store, 'a', { agents: counting().agents });
    const actors: WeakRef<object>[] = [];
    const runs: WeakRef<object>[] = [];
    // Each run made in a function of its own: a loop's block variable may stay alive in the test's frame.
    const startOne = (i: number) => {
      const run = engine.start(approval, {}, { id: `h${i}` });
      actors.push(new WeakRef(run.actor));
      runs.push(new WeakRef(run));
    };
    for (let i = 0; i < 50; i++) startOne(i);
    await pass(AFTER + 500, [engine]);
    expect(engine.active.size).toBe(0);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      gc();
    }
    expect(actors.flatMap((r, i) => (r.deref() !== undefined ? [i] : []))).toEqual([]);
    expect(runs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    // Still answered from the store, and woken when addressed.
    expect(await engine.list({ idle: true, limit: 100 })).toHaveLength(50);
    await expect(engine.send('h7', { type: 'approved', by: 'gc' })).resolves.toBe(true);
    await pass(500, [engine]);
    expect(await engine.get('h7')).toMatchObject({ status: 'done' });
    await engine.close();
  });

  it('recovers a store of many waiting runs at once: only the busy ones are restored, the others when due', async () => {
    const { calls, agents } = counting({
      call: (n) => {
        if (n === 1) throw new Error('first attempt fails');
        return 'ok';
      },
    });
    const hang = { ...agents, plan: () => new Promise(() => {}) };
    const first = engineOn(files.store, 'a', { agents });
    for (let i = 0; i < 300; i++) first.start(approval, {}, { id: `w${i}` });
    first.start(backoff, {}, { id: 'due' });
    await pass(AFTER + 500, [first]);
    const busyEngine = engineOn(files.restartedStore(), 'a', { agents: hang, workflows: [approval] });
    busyEngine.start(approval, {}, { id: 'busy' });
    await settle(busyEngine);
    // Both "crash" (hand their leases over); 301 runs wait in the store, one is busy.
    await first.close();
    await busyEngine.close();
    const store = files.restartedStore();
    expect(await store.countRuns?.({ status: ['running', 'waiting'], idle: true })).toBe(301);
    const second = engineOn(files.restartedStore(), 'b', { agents });
    const recovered = await second.recover();
    expect(recovered.map((r) => r.id)).toEqual(['busy']);
    expect(second.active.size).toBe(1);
    await settle(second);
    // Its attempt was in flight at the hand-over: called again here (it had no journaled output).
    expect(recovered[0]?.waitingSteps()).toEqual(['approve']);
    await expect(second.send('busy', { type: 'approved', by: 'b' })).resolves.toBe(true);
    await expect(recovered[0]?.result).resolves.toMatchObject({ plan: 'PLAN' });
    // Addressed: woken and finished; due: woken by the scheduler.
    await expect(second.send('w42', { type: 'approved', by: 'b' })).resolves.toBe(true);
    await pass(60_000, [second]);
    expect(await second.get('w42')).toMatchObject({ status: 'done' });
    expect(await second.get('due')).toMatchObject({ status: 'done' });
    expect(calls.plan).toHaveLength(302);
    await second.close();
  });

  it("passivates a hand-written machine waiting for its event, but not one with a pending XState 'after'", async () => {
    const waiting = setup({}).createMachine({
      id: 'hw-wait',
      initial: 'waiting',
      states: { waiting: { on: { APPROVE: 'done' } }, done: { type: 'final' } },
      output: () => 'approved',
    });
    const delayed = setup({}).createMachine({
      id: 'hw-after',
      initial: 'waiting',
      // XState keeps this delay in memory only: dropping the run would lose it.
      states: { waiting: { after: { 60000: 'done' } }, done: { type: 'final' } },
      output: () => 'timed out',
    });
    const engine = engineOn(files.store, 'a', { agents: counting().agents, workflows: [waiting, delayed] });
    const run = engine.start(waiting, {}, { id: 'hw1' });
    const timed = engine.start(delayed, {}, { id: 'hw2' });
    await pass(AFTER + 500, [engine]);
    expect([...engine.active.keys()]).toEqual(['hw2']);
    // Its state takes APPROVE from outside with nothing invoked: stored `waiting` (docs/handwritten.md#waiting).
    expect(await engine.get('hw1')).toMatchObject({ status: 'waiting', idle: true });
    await expect(engine.send('hw1', { type: 'APPROVE' })).resolves.toBe(true);
    await expect(run.result).resolves.toBe('approved');
    await pass(60_000, [engine]);
    await expect(timed.result).resolves.toBe('timed out');
    await engine.close();
  });

  it('passivates a map whose only unfinished item waits for a decision; the decision on `m[i]` wakes it', async () => {
    const mapped = workflow('pass-map')
      .map('m', { items: 'input', step: { agent: 'item', escalate: { to: 'human', timeoutMs: 3_600_000 } } })
      .build();
    const items: number[] = [];
    const engine = engineOn(files.store, 'a', {
      agents: {
        ...counting().agents,
        item: async (n: number) => {
          items.push(n);
          if (n === 1) throw new Error('needs a human');
          return n;
        },
      },
      workflows: [mapped],
    });
    const run = engine.start(mapped, [0, 1, 2], { id: 'map1' });
    await pass(AFTER + 500, [engine]);
    expect(engine.active.size).toBe(0);
    expect(await engine.get('map1')).toMatchObject({ status: 'waiting', idle: true });
    await engine.resolveEscalation('map1', 'm[1]', { action: 'skip', value: 'approved' });
    await expect(run.result).resolves.toEqual({ m: [0, 'approved', 2] });
    expect(items.sort()).toEqual([0, 1, 2]);
    await engine.close();
  });

  it('explains what passivation needs', () => {
    expect(() => testEngine({ passivate: { afterMs: 1_000 } })).toThrow(ConfigurationError);
    expect(() => testEngine({ store: memoryStore(), passivate: { afterMs: 0 } })).toThrow(/afterMs/);
  });
});
