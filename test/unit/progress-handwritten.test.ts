import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assign, createActor, fromCallback, fromPromise, setup } from 'xstate';
import {
  agentActor,
  memoryHistory,
  type Progress,
  trackProgress,
  trackStepEvents,
  workflow,
} from '../../src/index.js';
import { testEngine } from '../support/engine.js';
import { etaErrors, sleeper } from '../support/progress.js';

// trackProgress on machines the engine did not compile or start: states carry `meta.flowstate` and invoke
// ordinary fromPromise actors.

const wait = (ms: number, fail = false) =>
  fromPromise(async () => {
    await new Promise((r) => setTimeout(r, ms));
    if (fail) throw new Error(`failed after ${ms} ms`);
    return ms;
  });

const step = (name: string, expectedMs?: number) => ({
  flowstate: { kind: 'step', name, ...(expectedMs !== undefined ? { expectedMs } : {}) },
});

/** fetch, then `left` (200 ms) and `right` (50 ms) in parallel regions, then an approval on an event, then done. */
function reviewMachine(options: { failRight?: boolean } = {}) {
  return setup({
    actors: { fetch: wait(100), left: wait(200), right: wait(50, options.failRight) },
  }).createMachine({
    id: 'review',
    context: { status: 'done' },
    initial: 'fetch',
    // A machine's output comes from its root `output`: the tracker reads its `status`, as for a compiled workflow.
    output: ({ context }) => ({ status: context.status }),
    states: {
      fetch: { meta: step('fetch', 100), invoke: { src: 'fetch', onDone: 'both' } },
      both: {
        type: 'parallel',
        states: {
          l: {
            initial: 'go',
            states: {
              go: { meta: step('left'), invoke: { src: 'left', onDone: 'end' } },
              end: { type: 'final' },
            },
          },
          r: {
            initial: 'go',
            states: {
              go: { meta: step('right'), invoke: { src: 'right', onDone: 'end', onError: '#review.failed' } },
              end: { type: 'final' },
            },
          },
        },
        onDone: 'approve',
      },
      // A step without an invoke: it ends when the machine leaves it.
      approve: { meta: { flowstate: { kind: 'step' } }, on: { OK: 'done' } },
      done: { type: 'final' },
      failed: { type: 'final', entry: assign({ status: 'failed' }) },
    },
  });
}

function follow(actor: ReturnType<typeof createActor>, options: Parameters<typeof trackProgress>[1] = {}) {
  const seen = { emissions: [] as Progress[], completed: false, events: [] as string[] };
  trackProgress(actor, { throttleMs: 0, ...options }).subscribe({
    next: (p) => seen.emissions.push(p),
    complete: () => {
      seen.completed = true;
    },
  });
  trackStepEvents(actor).subscribe((e) => seen.events.push(`${e.at} ${e.path} ${e.type}`));
  return seen;
}

describe('trackProgress on a hand-written machine', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('follows its meta states as steps, subscribed before the actor starts, and completes at the end', async () => {
    const actor = createActor(reviewMachine());
    const seen = follow(actor);
    expect(seen.emissions[0]?.steps.map((s) => s.path)).toEqual(['fetch', 'left', 'right', 'approve']);
    actor.start();
    await vi.advanceTimersByTimeAsync(300);
    const last = seen.emissions.at(-1) as Progress;
    // `approve` invokes nothing and takes OK from outside: the run waits.
    expect(last).toMatchObject({ workflowId: 'review', status: 'waiting' });
    expect(last.steps.map((s) => [s.path, s.status])).toEqual([
      ['fetch', 'done'],
      ['left', 'done'],
      ['right', 'done'],
      ['approve', 'running'],
    ]);
    actor.send({ type: 'OK' });
    expect(seen.completed).toBe(true);
    expect(seen.emissions.at(-1)).toMatchObject({ status: 'done', percent: 100 });
    expect(seen.events).toEqual([
      '0 fetch started',
      '100 fetch done',
      '100 left started',
      '100 right started',
      '150 right done',
      '300 left done',
      '300 approve started',
      '300 approve done',
    ]);
  });

  it('on the engine, a state waiting for an outside event makes the run waiting, below 100%, until it comes', async () => {
    // The trial's machine: an agent drafts, then `review` waits for `approve` (no invoke, no meta).
    const machine = setup({ actors: { draft: agentActor<unknown, string>() } }).createMachine({
      id: 'drafting',
      initial: 'draft',
      states: {
        draft: { invoke: { src: 'draft', onDone: 'review' } },
        review: { on: { approve: 'approved' }, after: { 3600000: 'expired' } },
        approved: { type: 'final' },
        expired: { type: 'final' },
      },
    });
    const engine = testEngine({ agents: { draft: sleeper(() => 100) }, progress: { throttleMs: 0 } });
    const run = engine.start(machine, {});
    const seen: Progress[] = [];
    run.progress$.subscribe((p) => seen.push(p));
    await vi.advanceTimersByTimeAsync(50);
    expect(run.status).toBe('running');
    expect(seen.at(-1)?.status).toBe('running');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(run.actor.getSnapshot().value).toBe('review');
    expect(run.status).toBe('waiting');
    expect(run.waitingSteps()).toEqual(['review']);
    expect(seen.at(-1)?.status).toBe('waiting');
    for (const p of seen) expect(p.percent).toBeLessThan(100);
    expect(run.send({ type: 'approve' })).toBe(true);
    await run.result;
    expect(run.status).toBe('done');
    expect(run.waitingSteps()).toEqual([]);
    expect(seen.at(-1)).toMatchObject({ status: 'done', percent: 100 });
  });

  it('a state with only a timer, or one whose invoked actor may send the event, is not a wait', async () => {
    const machine = setup({
      actors: {
        ticker: fromCallback(({ sendBack }) => void setTimeout(() => sendBack({ type: 'TICK' }), 100)),
      },
    }).createMachine({
      id: 'busy',
      initial: 'pause',
      states: {
        pause: { after: { 100: 'listen' } },
        listen: {
          invoke: { src: 'ticker' },
          initial: 'idle',
          states: { idle: { on: { TICK: '#busy.done' } } },
        },
        done: { type: 'final' },
      },
    });
    const run = testEngine({ progress: { throttleMs: 0 } }).start(machine, {});
    const statuses: string[] = [];
    run.progress$.subscribe((p) => statuses.push(p.status));
    expect(run.status).toBe('running');
    await vi.advanceTimersByTimeAsync(150);
    expect(run.actor.getSnapshot().value).toEqual({ listen: 'idle' });
    expect(run.status).toBe('running');
    await vi.advanceTimersByTimeAsync(100);
    await run.result;
    expect(statuses).not.toContain('waiting');
  });

  it('learns durations into a history it is given, then predicts the next run', async () => {
    const history = memoryHistory();
    const first = createActor(reviewMachine());
    follow(first, { history, defaultStepMs: 500 });
    first.start();
    await vi.advanceTimersByTimeAsync(300);
    first.send({ type: 'OK' });
    expect(history.estimate('review', 'left')).toMatchObject({ ms: 200 });

    const second = createActor(reviewMachine());
    const seen = follow(second, { history });
    second.start();
    await vi.advanceTimersByTimeAsync(300);
    second.send({ type: 'OK' });
    // The approval took no time (history: 0 ms), so the ETA is exact all along.
    for (const e of etaErrors(seen.emissions)) expect(e.error).toBe(0);
  });

  it('reports a failed step and the status the machine output gives', async () => {
    const actor = createActor(reviewMachine({ failRight: true }));
    const seen = follow(actor);
    actor.start();
    await vi.advanceTimersByTimeAsync(300);
    const last = seen.emissions.at(-1) as Progress;
    expect(last.status).toBe('failed');
    expect(last.steps.find((s) => s.path === 'right')).toMatchObject({ status: 'failed' });
    expect(last.steps.find((s) => s.path === 'right')?.error).toContain('failed after 50 ms');
    expect(last.steps.find((s) => s.path === 'left')).toMatchObject({ status: 'cancelled' });
    expect(seen.completed).toBe(true);
  });

  it('picks up an actor already running, and one already done', async () => {
    const actor = createActor(reviewMachine());
    actor.start();
    await vi.advanceTimersByTimeAsync(120);
    const seen = follow(actor, { startedAt: 0 });
    expect(seen.emissions[0]?.steps.filter((s) => s.status === 'running').map((s) => s.path)).toEqual([
      'left',
      'right',
    ]);
    expect(seen.emissions[0]?.elapsedMs).toBe(120);
    await vi.advanceTimersByTimeAsync(200);
    actor.send({ type: 'OK' });
    const after = follow(actor);
    expect(after.emissions).toHaveLength(1);
    expect(after.emissions[0]?.status).toBe('done');
    expect(after.completed).toBe(true);
  });

  it('works on a compiled workflow run with createActor outside the engine', async () => {
    const wf = workflow('embedded').step('a', { expectedMs: 40 }).step('b', { expectedMs: 60 }).build();
    const engine = testEngine({ agents: { a: async () => 1, b: async () => 2 } });
    const actor = createActor(engine.machineFor(wf), { input: { workflowId: 'mine', input: {} } });
    const seen = follow(actor);
    expect(seen.emissions[0]).toMatchObject({ workflowId: 'embedded', runId: 'mine' });
    expect(seen.emissions[0]?.eta.remainingMs).toBe(100);
    actor.start();
    await vi.advanceTimersByTimeAsync(10);
    expect(seen.emissions.at(-1)).toMatchObject({ status: 'done' });
    expect(seen.events).toEqual(['0 a started', '0 a done', '0 b started', '0 b done']);
  });

  it('estimates a hand-written cycle and an undecided branch without looping forever', async () => {
    const machine = setup({
      actors: { work: wait(100) },
      guards: { again: () => false },
    }).createMachine({
      id: 'cyclic',
      initial: 'decide',
      states: {
        // A branch that rests before choosing: its arms are weighed evenly without history.
        decide: {
          meta: { flowstate: { kind: 'branch', name: 'pick' } },
          initial: 'wait',
          states: {
            wait: { on: { A: 'a', B: 'b' } },
            a: {
              meta: { flowstate: { kind: 'arm', branch: 'pick', arm: 0 } },
              initial: 'x',
              states: {
                x: { meta: step('x', 100), invoke: { src: 'work', onDone: 'y' } },
                y: { type: 'final' },
              },
              onDone: 'end',
            },
            b: {
              meta: { flowstate: { kind: 'arm', branch: 'pick', arm: 1 } },
              initial: 'z',
              states: {
                z: { meta: step('z', 300), invoke: { src: 'work', onDone: 'w' } },
                w: { type: 'final' },
              },
              onDone: 'end',
            },
            end: { type: 'final' },
          },
          onDone: 'work',
        },
        work: { meta: step('work', 100), invoke: { src: 'work', onDone: 'check' } },
        check: { always: [{ guard: 'again', target: 'work' }, { target: 'done' }] },
        done: { type: 'final' },
      },
    });
    const actor = createActor(machine);
    const seen = follow(actor);
    actor.start();
    // Undecided: (100 + 300) / 2 for the arms, plus `work`.
    expect(seen.emissions.at(-1)?.eta).toMatchObject({ remainingMs: 300, low: 100, high: 800 });
    actor.send({ type: 'B' });
    expect(seen.emissions.at(-1)?.eta.remainingMs).toBe(400);
    await vi.advanceTimersByTimeAsync(200);
    expect(seen.emissions.at(-1)).toMatchObject({ status: 'done' });
  });
});
