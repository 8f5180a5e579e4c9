import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { workflow } from '../../src/index.js';
import { systemClock } from '../../src/machine/clock.js';
import { compileWorkflow } from '../../src/machine/compile.js';
import type { Learner } from '../../src/machine/learn.js';
import { waitsOf } from '../../src/runtime/deadlines.js';

/**
 * A run stored by an older Flowstate while it waited: the wait's deadline in an invoked `flowstate.timer` actor
 * (this snapshot is what that code persisted), not in `context.waits`. It restores on the current machine, times out
 * at that deadline, or takes its event, and the store's timer row and the learner still find the deadline.
 */
describe('a waitFor stored with its deadline timer actor', () => {
  const definition = workflow('legacy-wait')
    .waitFor('approval', { event: 'approved', timeoutMs: 60_000, onTimeout: 'skip' })
    .build();
  const stored = (deadline: number) => ({
    status: 'active',
    value: { running: 'approval' },
    historyValue: {},
    context: {
      workflowId: 'w1',
      pathPrefix: '',
      input: {},
      results: {},
      iterations: {},
      maps: {},
      completed: [],
      skipped: [],
      pending: {},
      compensationErrors: [],
    },
    children: {
      approval: { snapshot: { status: 'active', deadline }, src: 'flowstate.timer', syncSnapshot: false },
    },
  });
  const finished: Array<[string, number | undefined]> = [];
  const learn: Learner = {
    started: () => {},
    finished: (_run, path, startedAt) => finished.push([path, startedAt]),
    chose: () => {},
    stepEnded: () => {},
  };
  const machine = compileWorkflow(definition.spec, {
    version: definition.version,
    clock: systemClock,
    learn,
  });

  beforeEach(() => {
    vi.useFakeTimers({ now: 100_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    finished.length = 0;
  });
  afterEach(() => vi.useRealTimers());

  it('has its timer row from the timer actor', () => {
    expect(waitsOf('w1', stored(130_000) as never)).toEqual({
      timers: [{ runId: 'w1', stepPath: 'approval', kind: 'wait', deadline: 130_000 }],
      idle: true,
    });
  });

  it('times out at the stored deadline, not a full timeout later', async () => {
    // Stored 30 s into a 60 s wait: 30 s are left.
    const actor = createActor(machine, {
      snapshot: stored(130_000) as never,
      input: { workflowId: 'w1' },
    }).start();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(actor.getSnapshot().status).toBe('active');
    await vi.advanceTimersByTimeAsync(1);
    expect(actor.getSnapshot().status).toBe('done');
    expect(actor.getSnapshot().output).toEqual({ status: 'done', output: { approval: null } });
  });

  it('takes its event: the timer actor is stopped, and the wait started at deadline minus timeout', async () => {
    const actor = createActor(machine, {
      snapshot: stored(130_000) as never,
      input: { workflowId: 'w1' },
    }).start();
    await vi.advanceTimersByTimeAsync(1_000);
    actor.send({ type: 'approved', by: 'ada' });
    expect(actor.getSnapshot().output).toEqual({ status: 'done', output: { approval: { by: 'ada' } } });
    expect(Object.keys(actor.getSnapshot().children)).toEqual([]);
    expect(finished).toEqual([['approval', 70_000]]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('a waitFor keeps its deadline in the context', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
  afterEach(() => vi.useRealTimers());

  it('sets it on entry, removes it at exit, and has no child actor', async () => {
    const definition = workflow('wait-context')
      .waitFor('approval', { event: 'approved', timeoutMs: 5_000 })
      .build();
    const machine = compileWorkflow(definition.spec, { version: definition.version });
    const actor = createActor(machine, { input: { workflowId: 'w2', input: {} } }).start();
    const s = actor.getSnapshot();
    expect(s.context.waits).toEqual({ approval: 5_000 });
    expect(Object.keys(s.children)).toEqual([]);
    expect(waitsOf('w2', actor.getPersistedSnapshot() as never).timers).toEqual([
      { runId: 'w2', stepPath: 'approval', kind: 'wait', deadline: 5_000 },
    ]);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(actor.getSnapshot().output).toMatchObject({ status: 'failed', error: { code: 'WAIT_TIMEOUT' } });
    expect(actor.getSnapshot().context.waits).toBeUndefined();
  });

  it('waits longer than one timer can (about 24.8 days) in chunks, on time', async () => {
    const days = 30 * 24 * 3_600_000;
    const definition = workflow('wait-long')
      .waitFor('approval', { event: 'approved', timeoutMs: days, onTimeout: 'skip' })
      .build();
    const machine = compileWorkflow(definition.spec, { version: definition.version });
    const actor = createActor(machine, { input: { workflowId: 'w3', input: {} } }).start();
    await vi.advanceTimersByTimeAsync(2 ** 31 - 1);
    expect(actor.getSnapshot().status).toBe('active');
    await vi.advanceTimersByTimeAsync(days - 2 ** 31);
    expect(actor.getSnapshot().status).toBe('active');
    await vi.advanceTimersByTimeAsync(1);
    expect(actor.getSnapshot().output).toEqual({ status: 'done', output: { approval: null } });
  });

  it("shares one frozen timeout event among a wait's runs (a parked run holds none of its own), and still times out", async () => {
    const definition = workflow('wait-shared')
      .waitFor('approval', { event: 'approved', timeoutMs: 60_000, onTimeout: 'skip' })
      .build();
    const machine = compileWorkflow(definition.spec, { version: definition.version });
    const actors = ['w4', 'w5'].map((id) =>
      createActor(machine, { input: { workflowId: id, input: {} } }).start(),
    );
    const scheduled = actors.map((actor) => {
      const events = (
        actor.system as unknown as { getSnapshot(): { _scheduledEvents: Record<string, { event: object }> } }
      ).getSnapshot()._scheduledEvents;
      return Object.values(events).map((e) => e.event);
    });
    expect(scheduled.map((events) => events.length)).toEqual([1, 1]);
    expect(scheduled[0]?.[0]).toBe(scheduled[1]?.[0]);
    expect(scheduled[0]?.[0]).toEqual({ type: 'xstate.done.actor.approval', output: null });
    expect(Object.isFrozen(scheduled[0]?.[0])).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    for (const actor of actors) {
      expect(actor.getSnapshot().output).toEqual({ status: 'done', output: { approval: null } });
    }
  });
});
