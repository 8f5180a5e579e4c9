// Named signals under races an adversarial review found (each failed before its fix): the same name sent twice at
// once (one engine, or across engines with a late read) applied twice; an answer read late for a signal that ended
// its run was turned into a refusal and deleted; a named cancel ended in the store without its answer; a refusal
// answered before its commit, the signal then applied after a crash.
import { describe, expect, it } from 'vitest';
import { type WorkflowStore, workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';
import { killable, progressOf, sleep, stores, twice, waitFor } from '../support/named-signals.js';

const once = workflow('keyed-once').waitFor('first', { event: 'go', timeoutMs: 600_000 }).build();
const escalated = workflow('keyed-escalated')
  .step('review', { escalate: { to: 'human', timeoutMs: 600_000 } })
  .build();
/** The store with some of its calls replaced, and `close` a no-op (the test closes the store it shares). */
const wrapped = (store: WorkflowStore, replace: Partial<WorkflowStore> = {}) =>
  new Proxy(store, {
    get: (target, name, receiver) =>
      name === 'close'
        ? async () => {}
        : ((replace as Record<string | symbol, unknown>)[name] ?? Reflect.get(target, name, receiver)),
  });
const outcome = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ ok: value }),
    (error: { code?: string }) => ({ code: error.code }),
  );

describe.each(stores)('named signals racing on %s', (_name, open) => {
  it('the same name sent twice at once to a run here is applied once', async () => {
    const shared = open();
    const engine = testEngine({ agents: { after: () => 'ok' }, workflows: [twice], store: shared });
    engine.start(twice, {}, { id: 'x' });
    await waitFor(async () => (await shared.getRun('x'))?.status === 'waiting');
    const answers = await Promise.all([
      engine.send('x', { type: 'go' }, { signalId: 'c1' }),
      engine.send('x', { type: 'go' }, { signalId: 'c1' }),
    ]);
    expect(answers).toEqual([true, true]);
    await engine.flush();
    await sleep(100);
    expect(await progressOf(shared)).toBe('second');
    await engine.close();
  });

  it('posted by another engine while the owner’s own send of it reads late: applied once', async () => {
    const shared = open();
    let hold: Promise<void> | undefined;
    const late = wrapped(shared, {
      async getMessage(id) {
        const message = await shared.getMessage(id);
        if (hold) await hold;
        return message;
      },
    });
    const calls: string[] = [];
    const options = { workflows: [twice], agents: { after: () => calls.push('after') } };
    const owner = testEngine({ ...options, store: late, lease: { owner: 'o' }, inbox: { pollMs: 20 } });
    const caller = testEngine({ ...options, store: wrapped(shared), lease: { owner: 'c', adopt: false } });
    owner.start(twice, {}, { id: 'x' });
    await waitFor(async () => (await shared.getRun('x'))?.status === 'waiting');
    let release = () => {};
    hold = new Promise((resolve) => {
      release = resolve;
    });
    const local = owner.send('x', { type: 'go' }, { signalId: 'n' });
    await sleep(20);
    await expect(caller.send('x', { type: 'go' }, { signalId: 'n' })).resolves.toBe(true);
    hold = undefined;
    release();
    await expect(local).resolves.toBe(true);
    await owner.flush();
    await sleep(100);
    expect(await progressOf(shared)).toBe('second');
    expect(calls).toEqual([]);
    await owner.close();
    await caller.close();
  });

  it('one that ended its run, its answer read late by its caller, is answered applied, and again', async () => {
    const shared = open();
    let inboxOpen = false;
    let reads = 0;
    // The owner reads its inbox only once the gate opens; the caller's 9th read is taken before the owner's commit
    // and returned after it (the run ended by then).
    const owner = testEngine({
      workflows: [once],
      store: wrapped(shared, { pendingFor: async (o, l) => (inboxOpen ? shared.pendingFor(o, l) : []) }),
      lease: { owner: 'o' },
      inbox: { pollMs: 20 },
    });
    const caller = testEngine({
      workflows: [once],
      store: wrapped(shared, {
        async getMessage(id) {
          const message = await shared.getMessage(id);
          if (++reads === 9) {
            inboxOpen = true;
            await waitFor(async () => (await shared.getRun('x'))?.status === 'done');
          }
          return message;
        },
      }),
      lease: { owner: 'c', adopt: false },
    });
    owner.start(once, {}, { id: 'x' });
    await waitFor(async () => (await shared.getRun('x'))?.status === 'waiting');
    const first = await outcome(caller.send('x', { type: 'go' }, { signalId: 'e1' }));
    expect((await shared.getRun('x'))?.status).toBe('done');
    const again = await outcome(caller.send('x', { type: 'go' }, { signalId: 'e1' }));
    expect({ first, again }).toEqual({ first: { ok: true }, again: { ok: true } });
    await owner.close();
    await caller.close();
  });

  it('a named cancel of a run no engine owns, without its definition here, is answered alike when sent again', async () => {
    const shared = open();
    const a = testEngine({ agents: { after: () => 'ok' }, workflows: [twice], store: wrapped(shared) });
    a.start(twice, {}, { id: 'x' });
    await waitFor(async () => (await shared.getRun('x'))?.status === 'waiting');
    await a.close(); // released: no live owner
    const b = testEngine({ workflows: [], store: shared, lease: { owner: 'b', adopt: false } });
    await expect(b.cancel('x', 'stop', { signalId: 'k' })).resolves.toBeUndefined();
    expect((await shared.getRun('x'))?.status).toBe('cancelled');
    await expect(b.cancel('x', 'stop', { signalId: 'k' })).resolves.toBeUndefined();
    await b.close();
  });

  it('a named signal to a run ending here is answered once its end is committed, not before', async () => {
    const shared = open();
    const { store, state } = killable(shared);
    const options = {
      agents: {
        review: () => {
          throw new Error('no');
        },
      },
      workflows: [escalated],
      inbox: { pollMs: 20 },
    };
    const a = testEngine({ ...options, store, lease: { owner: 'a', ttlMs: 300, adopt: false } });
    a.start(escalated, {}, { id: 'x' });
    await waitFor(async () => (await shared.getRun('x'))?.status === 'waiting');
    state.holdWrites = true; // nothing a writes commits from now on
    // A decision ends the run in a's memory; its end is not committed.
    await expect(
      a.resolveEscalation('x', 'review', { action: 'skip', value: 'first' }, { timeoutMs: 100 }),
    ).rejects.toMatchObject({ code: 'SIGNAL_TIMEOUT' });
    // A named one: the run ended here, but not in the store: no answer yet (before, "already ended", at once).
    const decide = (engine: typeof a, timeoutMs?: number) =>
      outcome(
        engine.resolveEscalation(
          'x',
          'review',
          { action: 'skip', value: 'second' },
          { signalId: 'd2', ...(timeoutMs ? { timeoutMs } : {}) },
        ),
      );
    expect(await decide(a, 150)).toEqual({ code: 'SIGNAL_TIMEOUT' });
    state.dead = true; // a dies before anything committed: the run comes back waiting on b
    await sleep(400);
    const b = testEngine({ ...options, store: shared, lease: { owner: 'b', ttlMs: 300 } });
    const again = decide(b);
    await b.recover();
    expect(await again).toEqual({ ok: undefined });
    await waitFor(async () => (await shared.getRun('x'))?.status === 'done');
    expect((await shared.getRun('x'))?.output).toEqual({ review: 'second' });
    expect(await decide(b)).toEqual({ ok: undefined });
    await b.close();
  });
});
