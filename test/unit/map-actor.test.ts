import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AnyActorRef, createActor } from 'xstate';
import { workflow } from '../../src/index.js';
import { createMapLogic } from '../../src/machine/map-logic.js';
import { isMapSnapshot, type MapActorInput, type PersistedMap } from '../../src/machine/map-types.js';
import { resolveRetryPolicy } from '../../src/machine/retry.js';
import { createStepLogic } from '../../src/machine/step-logic.js';
import { deferred, silent, testEngine } from '../support/engine.js';

/** The map actor of a run's map state, if it is running. */
function mapActorOf(root: AnyActorRef, name: string): AnyActorRef | undefined {
  return (root.getSnapshot().children as Record<string, AnyActorRef | undefined>)[name];
}

describe('the map actor through the engine', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  const fan = (concurrency: number) =>
    workflow(`fan-${concurrency}`)
      .map('m', { items: 'input', step: { agent: 'a' }, concurrency })
      .build();

  it('ends at once with no items, and runs one item', async () => {
    const engine = testEngine({ agents: { a: (n: number) => n * 10 } });
    await expect(engine.start(fan(3), []).result).resolves.toEqual({ m: [] });
    await expect(engine.start(fan(3), [7]).result).resolves.toEqual({ m: [70] });
  });

  it.each([1, 2, 50])('keeps at most %i items running, results in item order', async (concurrency) => {
    let running = 0;
    let peak = 0;
    const items = Array.from({ length: 20 }, (_, i) => i);
    const run = testEngine({
      agents: {
        a: async (n: number) => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 10 + ((n * 7) % 5)));
          running--;
          return n * 2;
        },
      },
    }).start(fan(concurrency), items);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(run.result).resolves.toEqual({ m: items.map((n) => n * 2) });
    expect(peak).toBe(Math.min(concurrency, items.length));
  });

  it('does not spawn an actor per item: the items are hosted in one map actor', async () => {
    const gates = [deferred(), deferred(), deferred()];
    const run = testEngine({ agents: { a: (n: number) => gates[n]?.promise } }).start(fan(3), [0, 1, 2]);
    await vi.advanceTimersByTimeAsync(0);
    const children = run.actor.getSnapshot().children as Record<string, AnyActorRef>;
    expect(Object.keys(children)).toEqual(['m']);
    const map = mapActorOf(run.actor, 'm')?.getSnapshot();
    expect(isMapSnapshot(map)).toBe(true);
    expect(Object.keys((map as { children: object }).children)).toEqual(['m[0]', 'm[1]', 'm[2]']);
    for (const [i, gate] of gates.entries()) gate.resolve(i);
    await expect(run.result).resolves.toEqual({ m: [0, 1, 2] });
  });

  it('retries an item with backoff on its own, as a step', async () => {
    const calls: string[] = [];
    const wf = workflow('fan-retry')
      .map('m', {
        items: 'input',
        step: { agent: 'a', retry: { attempts: 3, backoff: 'fixed', initialMs: 100 } },
        concurrency: 2,
      })
      .build();
    const run = testEngine({
      agents: {
        a: (n: number, ctx: { attempt: number; idempotencyKey: string }) => {
          calls.push(`${ctx.idempotencyKey}@${Date.now()}`);
          if (n === 1 && ctx.attempt < 3) throw new Error('flaky');
          return n;
        },
      },
    }).start(wf, [0, 1]);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(run.result).resolves.toEqual({ m: [0, 1] });
    expect(calls.sort()).toEqual([
      `${run.id}:m[0]:1@0`,
      `${run.id}:m[1]:1@0`,
      `${run.id}:m[1]:2@100`,
      `${run.id}:m[1]:3@200`,
    ]);
  });

  it('escalates one item to a human; a decision on `name[i]` reaches it while the others go on', async () => {
    const wf = workflow('fan-escalate')
      .map('m', {
        items: 'input',
        step: { agent: 'a', escalate: { to: 'human', timeoutMs: 60_000 } },
        concurrency: 3,
      })
      .build();
    const run = testEngine({
      agents: {
        a: (n: number) => {
          if (n === 1) throw new Error('needs a look');
          return n;
        },
      },
    }).start(wf, [0, 1, 2]);
    await vi.advanceTimersByTimeAsync(10);
    expect(run.status).toBe('waiting');
    expect(run.waitingSteps()).toEqual(['m[1]']);
    run.resolveEscalation('m[1]', { action: 'skip', value: 'decided' });
    await expect(run.result).resolves.toEqual({ m: [0, 'decided', 2] });
  });

  it('lets an escalated item be retried by decision', async () => {
    let failures = 1;
    const wf = workflow('fan-escalate-retry')
      .map('m', { items: 'input', step: { agent: 'a', escalate: { to: 'human', timeoutMs: 1_000 } } })
      .build();
    const run = testEngine({
      agents: {
        a: (n: number) => {
          if (n === 0 && failures-- > 0) throw new Error('once');
          return n + 1;
        },
      },
    }).start(wf, [0, 1]);
    await vi.advanceTimersByTimeAsync(10);
    expect(() => run.resolveEscalation('m[1]', { action: 'retry' })).toThrow(/not waiting/);
    run.resolveEscalation('m[0]', { action: 'retry' });
    await expect(run.result).resolves.toEqual({ m: [1, 2] });
  });

  it('cancelling mid-map aborts the running items’ signals and starts no more', async () => {
    const signals: AbortSignal[] = [];
    const started: number[] = [];
    const run = testEngine({
      agents: {
        a: (n: number, ctx: { signal: AbortSignal }) => {
          started.push(n);
          signals.push(ctx.signal);
          return new Promise(() => {});
        },
      },
    }).start(fan(2), [0, 1, 2, 3]);
    await vi.advanceTimersByTimeAsync(10);
    expect(started).toEqual([0, 1]);
    run.cancel('stop');
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(signals.map((s) => s.aborted)).toEqual([true, true]);
    await vi.advanceTimersByTimeAsync(100);
    expect(started).toEqual([0, 1]);
  });

  it('a failure of a sibling region compensates the items the map finished so far', async () => {
    const undone: string[] = [];
    const wf = workflow('fan-sibling', { onError: 'compensate' })
      .parallel('p', {
        items: (r) =>
          r.map('charge', {
            items: 'input',
            step: { agent: 'charge', compensate: 'refund' },
            concurrency: 1,
          }),
        other: (r) => r.step('late'),
      })
      .build();
    const run = testEngine({
      agents: {
        charge: async (n: number) => {
          await new Promise((r) => setTimeout(r, 10));
          return `paid-${n}`;
        },
        refund: (input: { step: string; output: unknown }) => {
          undone.push(`${input.step}:${String(input.output)}`);
          return null;
        },
        late: async () => {
          await new Promise((r) => setTimeout(r, 25));
          throw new Error('late failure');
        },
      },
    }).start(wf, [0, 1, 2, 3]);
    await vi.advanceTimersByTimeAsync(200);
    await expect(run.result).rejects.toMatchObject({ stepPath: 'late' });
    expect(run.status).toBe('compensated');
    expect(undone).toEqual(['charge[1]:paid-1', 'charge[0]:paid-0']);
  });
});

describe('the map actor on its own', () => {
  const stepLogic = createStepLogic({
    agents: {
      echo: (n: number) => n,
      never: () => new Promise(() => {}),
    },
    clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} },
    logger: silent,
  });
  const input = (agent: string, n: number, concurrency: number): MapActorInput => ({
    workflowId: 'w',
    path: 'outer/m',
    inputs: Array.from({ length: n }, (_, i) => i),
    step: { agent, retry: resolveRetryPolicy(undefined) },
    concurrency,
    skipFailures: false,
    compensable: false,
  });

  it('stores only its running items and the results: the persisted snapshot stays bounded', async () => {
    const actor = createActor(createMapLogic(stepLogic), { input: input('never', 1_000, 3) }).start();
    const persisted = actor.getPersistedSnapshot() as unknown as PersistedMap;
    expect(Object.keys(persisted.children)).toEqual(['m[0]', 'm[1]', 'm[2]']);
    expect(persisted.next).toBe(3);
    expect(persisted.results).toHaveLength(1_000);
    // A live snapshot goes to JSON too (inspectors, logs): its items as refs, as XState writes actors.
    const live = JSON.parse(JSON.stringify(actor.getSnapshot()));
    expect(live.children['m[0]']).toEqual({ xstate$$type: 1, id: 'm[0]' });
    actor.stop();
  });

  it('restores its running items and goes on from where it was', async () => {
    const first = createActor(createMapLogic(stepLogic), { input: input('never', 4, 2) }).start();
    const persisted = JSON.parse(JSON.stringify(first.getPersistedSnapshot())) as PersistedMap;
    first.stop();
    const restoredInput = { ...persisted.input, step: { ...persisted.input.step, agent: 'echo' } };
    const second = createActor(createMapLogic(stepLogic), {
      input: restoredInput as MapActorInput,
      snapshot: {
        ...persisted,
        input: restoredInput,
        children: Object.fromEntries(
          Object.entries(persisted.children).map(([id, c]) => [
            id,
            {
              snapshot: {
                ...(c.snapshot as object),
                agent: 'echo',
                input: { ...(c.snapshot as { input: object }).input, agent: 'echo' },
              },
            },
          ]),
        ),
      } as never,
    });
    const done = new Promise((resolve) =>
      second.subscribe({ complete: () => resolve(second.getSnapshot()) }),
    );
    second.start();
    const end = (await done) as { status: string; output: unknown };
    expect(end).toMatchObject({ status: 'done', output: [0, 1, 2, 3] });
  });

  it('costs the same number of transitions per item whatever the concurrency', async () => {
    const count = async (concurrency: number) => {
      const logic = createMapLogic(stepLogic);
      let transitions = 0;
      const original = logic.transition;
      logic.transition = (s, e, scope) => {
        transitions++;
        return original(s, e, scope);
      };
      const actor = createActor(logic, { input: input('echo', 2_000, concurrency) });
      const done = new Promise((resolve) => actor.subscribe({ complete: () => resolve(undefined) }));
      actor.start();
      await done;
      expect(actor.getSnapshot()).toMatchObject({ status: 'done' });
      return transitions;
    };
    expect(await count(10)).toBe(2_000);
    expect(await count(1_000)).toBe(2_000);
  });
});
