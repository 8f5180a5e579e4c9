// Found by an adversarial review with late and failing store calls: a signal applied to a run in the caller's own
// engine was answered before it was committed (lost with the process, or applied to a copy whose lease had moved on);
// a renewal answered after its own ttl reopened the lease gate; a claim committed but whose answer was lost was
// refused by its own row (the caller told RUN_ID_TAKEN while the run was stored and run anyway).
import { describe, expect, it } from 'vitest';
import { type AgentContext, type WorkflowStore, workflow } from '../../src/index.js';
import { memoryStore } from '../../src/persistence/memory-store.js';
import { deferred, testEngine } from '../support/engine.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** What a dropped connection looks like to the engine: retried. */
const connectionError = () =>
  Object.assign(new Error('Connection terminated unexpectedly'), { code: '08006' });
const waitFor = async (what: () => Promise<boolean>) => {
  for (let i = 0; i < 500 && !(await what()); i++) await sleep(10);
};
const settled = (promise: Promise<unknown>) => {
  const state = { done: false };
  void promise.then(
    () => {
      state.done = true;
    },
    () => {
      state.done = true;
    },
  );
  return state;
};

/** An event, then an agent. */
const pair = workflow('durable-pair')
  .waitFor('w1', { event: 'go', timeoutMs: 600_000 })
  .step('after')
  .build();

/** A store whose writes can be held until released (a slow commit, or a process about to die). */
function heldWrites(inner: WorkflowStore) {
  const control = { holding: false, held: [] as Array<() => void> };
  const store: WorkflowStore = {
    ...inner,
    async write(batch) {
      if (control.holding) {
        const gate = deferred<void>();
        control.held.push(() => gate.resolve());
        await gate.promise;
      }
      return inner.write(batch);
    },
  };
  return { store, control };
}

/** Run `x` on engine `a`, waiting for its event, with `a`'s writes held from now on. */
async function waitingBehindHeldWrites() {
  const shared = memoryStore();
  const { store, control } = heldWrites(shared);
  const a = testEngine({ agents: { after: () => 'A' }, workflows: [pair], store, lease: { owner: 'a' } });
  a.start(pair, {}, { id: 'x' });
  await a.flush();
  await waitFor(async () => (await shared.getRun('x'))?.status === 'waiting');
  control.holding = true;
  return { shared, control, a };
}

describe('a signal to a run in the caller’s own engine', () => {
  it.each([
    ['engine.send', (e: ReturnType<typeof testEngine>) => e.send('x', { type: 'go', n: 1 }), 'done'],
    ['engine.cancel', (e: ReturnType<typeof testEngine>) => e.cancel('x', 'stop'), 'cancelled'],
  ] as const)('%s answers once what it changed is committed', async (_name, signal, status) => {
    const { shared, control, a } = await waitingBehindHeldWrites();
    const answer = signal(a);
    const state = settled(answer);
    await sleep(50);
    // Applied in memory, not committed: a process dying now must not have told its caller yes.
    expect(state.done).toBe(false);
    control.holding = false;
    for (const go of control.held.splice(0)) go();
    await answer;
    await a.flush();
    expect((await shared.getRun('x'))?.status).toBe(status);
    await a.close();
  });

  it('answers SIGNAL_TIMEOUT when the commit takes longer than the signal may wait (the store slow or down)', async () => {
    const { shared, control, a } = await waitingBehindHeldWrites();
    await expect(a.send('x', { type: 'go', n: 1 }, { timeoutMs: 100 })).rejects.toMatchObject({
      code: 'SIGNAL_TIMEOUT',
      message: expect.stringContaining('applied here but not committed within 100 ms'),
    });
    // Applied, and written when the store takes it.
    control.holding = false;
    for (const go of control.held.splice(0)) go();
    await a.flush();
    await waitFor(async () => (await shared.getRun('x'))?.status === 'done');
    expect((await shared.getRun('x'))?.status).toBe('done');
    await a.close();
  });

  it('a copy whose lease moved on passes the signal to the run where it is now', async () => {
    const shared = memoryStore();
    const slow = { renew: false };
    const slowRenew: WorkflowStore = {
      ...shared,
      async renew(owner, until) {
        if (slow.renew) await sleep(1_000);
        return shared.renew(owner, until);
      },
    };
    const called: string[] = [];
    const agents = {
      after: (_: unknown, ctx: AgentContext) => {
        called.push(ctx.idempotencyKey);
        return 'after';
      },
    };
    const options = { agents, workflows: [pair], inbox: { pollMs: 20 } };
    const a = testEngine({ ...options, store: slowRenew, lease: { owner: 'a', ttlMs: 300, adopt: false } });
    const b = testEngine({ ...options, store: shared, lease: { owner: 'b', ttlMs: 300, adopt: false } });
    a.start(pair, {}, { id: 'y' });
    await a.flush();
    await waitFor(async () => (await shared.getRun('y'))?.status === 'waiting');
    slow.renew = true;
    await sleep(400); // a's lease ended in the store (a is alive, its renewal slow)
    const [taken] = await b.recover();
    expect(taken?.id).toBe('y');
    // a still holds its copy: it applies the event there, its write is fenced, and the event goes to b.
    await expect(a.send('y', { type: 'go', n: 1 })).resolves.toBe(true);
    await expect(taken?.result).resolves.toMatchObject({ w1: { n: 1 }, after: 'after' });
    expect(called).toEqual(['y:after:1']);
    slow.renew = false;
    await a.close();
    await b.close();
  });
});

describe('the lease gate', () => {
  it('stays shut when a renewal answers after its own ttl: another engine may have taken the runs', async () => {
    const shared = memoryStore();
    const control = { hold: false, executed: deferred<void>(), answer: deferred<void>() };
    const slowRenew: WorkflowStore = {
      ...shared,
      async renew(owner, until) {
        if (!control.hold) return shared.renew(owner, until);
        control.hold = false;
        await sleep(1_300); // reaches the store after `until` has passed
        const held = await shared.renew(owner, until);
        control.executed.resolve();
        await control.answer.promise;
        return held;
      },
    };
    const calls: string[] = [];
    const agentsOf = (engine: string) => ({
      after: () => {
        calls.push(engine);
        return engine;
      },
    });
    const lease = (owner: string) => ({ owner, ttlMs: 1_000, adopt: false });
    const b = testEngine({ agents: agentsOf('b'), workflows: [pair], store: slowRenew, lease: lease('b') });
    const a = testEngine({ agents: agentsOf('a'), workflows: [pair], store: shared, lease: lease('a') });
    b.start(pair, {}, { id: 'g' });
    await b.flush();
    await waitFor(async () => (await shared.getRun('g'))?.status === 'waiting');
    control.hold = true;
    await sleep(1_500); // b's renewal is held: its gate shuts
    await expect(b.send('g', { type: 'go' })).resolves.toBe(true); // `after` waits at b's gate
    await sleep(50);
    expect(calls).toEqual([]);
    await control.executed.promise; // the renewal set b's lease to an end already past
    const taken = await a.resume('g'); // so a takes the run, and calls `after`
    control.answer.resolve(); // b's renewal answers late: it must not let `after` run on b
    await expect(taken.result).resolves.toMatchObject({ after: 'a' });
    await sleep(300);
    expect(calls).toEqual(['a']);
    await a.close();
    await b.close();
  });
});

describe('a claim committed whose answer was lost', () => {
  it('is known by its own row: the run starts, once', async () => {
    const shared = memoryStore();
    let loseClaimAnswer = true;
    const store: WorkflowStore = {
      ...shared,
      async write(batch) {
        const result = await shared.write(batch);
        if (loseClaimAnswer && (batch.claims?.length ?? 0) > 0) {
          loseClaimAnswer = false;
          throw connectionError();
        }
        return result;
      },
    };
    const called: string[] = [];
    const one = workflow('durable-one').step('work').build();
    const agents = {
      work: (_: unknown, ctx: AgentContext) => {
        called.push(ctx.idempotencyKey);
        return 'w';
      },
    };
    const a = testEngine({ agents, workflows: [one], store, lease: { owner: 'a' } });
    await expect(a.start(one, {}, { id: 'z' }).result).resolves.toEqual({ work: 'w' });
    expect(called).toEqual(['z:work:1']);
    // Another run of that id is still refused.
    await expect(a.start(one, {}, { id: 'z' }).result).rejects.toMatchObject({ code: 'RUN_ID_TAKEN' });
    await a.close();
  });
});
