import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assign, fromPromise, setup } from 'xstate';
import { z } from 'zod';
import {
  agentActor,
  ConfigurationError,
  type Progress,
  StepFailedError,
  toStatelyJSON,
  verify,
  WorkflowVerificationError,
  workflow,
} from '../../src/index.js';
import { Binder } from '../../src/runtime/bind.js';
import { workflowPaths } from '../../src/testing/index.js';
import { testEngine } from '../support/engine.js';

// A hand-written machine: `lookup` names a registered agent (a step with retries, journal, lease gate), `score` is
// the machine's own promise actor, `review` waits for an event.
interface Input {
  readonly id: number;
}

function orderMachine() {
  return setup({
    types: {} as { input: Input; context: { id: number; row?: unknown; score?: number } },
    actors: {
      // A typed placeholder: the engine runs the registered agent `lookup` in its place.
      lookup: agentActor<{ id: number }, { name: string }>(),
      score: fromPromise<number, { row: unknown }>(async () => 7),
    },
  }).createMachine({
    id: 'orders',
    context: ({ input }) => ({ id: input.id }),
    initial: 'lookup',
    states: {
      lookup: {
        meta: { flowstate: { retry: { attempts: 3, initialMs: 10 }, timeoutMs: 1_000, expectedMs: 50 } },
        invoke: {
          src: 'lookup',
          input: ({ context }) => ({ id: context.id }),
          onDone: { target: 'score', actions: assign({ row: ({ event }) => event.output }) },
          onError: 'failed',
        },
      },
      score: {
        // A step for progress without an agent: `kind` defaults to 'step' on the engine.
        meta: { flowstate: { expectedMs: 20 } },
        invoke: {
          src: 'score',
          input: ({ context }) => ({ row: context.row }),
          onDone: { target: 'review', actions: assign({ score: ({ event }) => event.output }) },
        },
      },
      review: { on: { APPROVE: 'done', REJECT: 'failed' } },
      done: { type: 'final' },
      failed: { type: 'final' },
    },
    output: ({ context }) => ({ row: context.row, score: context.score }),
  });
}

describe('a hand-written machine on the engine', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('runs its agent invokes as steps with retries, its own actors as they are, to its output', async () => {
    let calls = 0;
    const keys: string[] = [];
    const engine = testEngine({
      agents: {
        lookup: async (input: { id: number }, ctx) => {
          keys.push(ctx.idempotencyKey);
          calls++;
          if (calls < 3) throw new Error('flaky');
          return { name: `order ${input.id}` };
        },
      },
    });
    const machine = orderMachine();
    const run = engine.start(machine, { id: 42 }, { id: 'r1' });
    await vi.advanceTimersByTimeAsync(100);
    // In `review`: nothing invoked, it takes APPROVE or REJECT from outside.
    expect(run.status).toBe('waiting');
    expect(run.waitingSteps()).toEqual(['review']);
    expect(run.send({ type: 'UNKNOWN' })).toBe(false);
    expect(run.send({ type: 'APPROVE' })).toBe(true);
    await expect(run.result).resolves.toEqual({ row: { name: 'order 42' }, score: 7 });
    expect(keys).toEqual(['r1:lookup:1', 'r1:lookup:2', 'r1:lookup:3']);
    expect(run.status).toBe('done');
  });

  it('starts by id once registered, reports progress from its states, and cancels', async () => {
    const engine = testEngine({ agents: { lookup: async () => ({ name: 'x' }) } });
    const machine = orderMachine();
    engine.register(machine);
    expect(engine.workflows.get('orders')?.version).toMatch(/^[0-9a-f]{16}$/);
    const run = engine.start('orders', { id: 1 });
    const seen: Progress[] = [];
    run.progress$.subscribe((p) => seen.push(p));
    // The ETA from the states' expectedMs: lookup (50 ms, running) then score (20 ms).
    expect(seen[0]?.eta.remainingMs).toBe(70);
    // Past the progress throttle (100 ms), so the last emission shows the step's end.
    await vi.advanceTimersByTimeAsync(200);
    expect(run.actor.getSnapshot().value).toBe('review');
    expect(seen.at(-1)?.steps.map((s) => [s.path, s.kind, s.status, s.agent])).toEqual([
      ['lookup', 'step', 'done', 'lookup'],
      ['score', 'step', 'done', undefined],
    ]);
    run.cancel('no longer needed');
    await expect(run.result).rejects.toMatchObject({
      code: 'CANCELLED',
      message: expect.stringContaining('no longer needed'),
    });
    expect(run.status).toBe('cancelled');
  });

  it('fails the run with the step failure when an agent step fails where the machine has no onError', async () => {
    const machine = setup({ actors: { broken: agentActor() } }).createMachine({
      id: 'strict',
      initial: 'call',
      states: {
        call: {
          meta: { flowstate: { name: 'the-call', retry: { attempts: 2, initialMs: 5 } } },
          invoke: { src: 'broken', onDone: 'done' },
        },
        done: { type: 'final' },
      },
    });
    const broken = vi.fn(async () => {
      throw new Error('down');
    });
    const engine = testEngine({ agents: { broken } });
    const run = engine.start(machine, {});
    await vi.advanceTimersByTimeAsync(50);
    const error = await run.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error).toMatchObject({ stepPath: 'the-call', attempts: 2 });
    expect(broken).toHaveBeenCalledTimes(2);
    expect(run.status).toBe('failed');
  });

  it('escalates an agent step to a human as its meta says, and goes on with the decision', async () => {
    const machine = setup({ actors: { charge: agentActor<unknown, string>() } }).createMachine({
      id: 'charging',
      initial: 'charge',
      context: { receipt: '' },
      states: {
        charge: {
          meta: { flowstate: { escalate: { to: 'human', timeoutMs: 60_000 } } },
          invoke: {
            src: 'charge',
            onDone: { target: 'done', actions: assign({ receipt: ({ event }) => event.output }) },
          },
        },
        done: { type: 'final' },
      },
      output: ({ context }) => context.receipt,
    });
    const engine = testEngine({
      agents: {
        charge: async () => {
          throw new Error('card declined');
        },
      },
    });
    const run = engine.start(machine, {});
    await vi.advanceTimersByTimeAsync(1);
    expect(run.status).toBe('waiting');
    expect(run.waitingSteps()).toEqual(['charge']);
    run.resolveEscalation('charge', { action: 'skip', value: 'paid by phone' });
    await expect(run.result).resolves.toBe('paid by phone');
  });

  it("fails the run with a step failure naming the state when the machine's own actor fails unhandled", async () => {
    const machine = setup({
      actors: {
        score: fromPromise<number>(async () => {
          throw new Error('no model');
        }),
      },
    }).createMachine({
      id: 'own-actor',
      initial: 'score',
      states: { score: { invoke: { src: 'score', onDone: 'done' } }, done: { type: 'final' } },
    });
    const run = testEngine().start(machine, {});
    await vi.advanceTimersByTimeAsync(1);
    const error = await run.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error).toMatchObject({ stepPath: 'score', message: expect.stringContaining('no model') });
  });

  it('refuses a machine without an id, and an invoke whose src is neither provided nor an agent', () => {
    const engine = testEngine({ agents: { lookup: async () => 1 } });
    const anonymous = setup({}).createMachine({ initial: 'a', states: { a: { type: 'final' } } });
    expect(() => engine.start(anonymous, {})).toThrow(ConfigurationError);
    expect(() => engine.start(anonymous, {})).toThrow(/needs an id/);
    const unknown = setup({}).createMachine({
      id: 'unknown-src',
      initial: 'a',
      // An untyped invoke: a typed setup would not compile a src it does not declare.
      states: { a: { invoke: { src: 'nowhere', onDone: 'b', onError: 'b' } as never }, b: { type: 'final' } },
    });
    expect(() => engine.register(unknown)).toThrow(
      /state 'a' invokes 'nowhere', which is neither an actor the machine provides/,
    );
    expect(engine.workflows.has('unknown-src')).toBe(false);
  });

  it('refuses, at start, a machine verify finds errors in (unless verify: false)', () => {
    const machine = setup({}).createMachine({
      id: 'stuck',
      initial: 'a',
      states: { a: { on: { GO: 'b' } }, b: {}, orphan: { type: 'final' } },
    });
    expect(() => testEngine().start(machine, {})).toThrow(WorkflowVerificationError);
    expect(() => testEngine({ verify: false }).start(machine, {})).not.toThrow();
  });
});

describe('verify, workflowPaths and toStatelyJSON on a hand-written machine', () => {
  it('verifies a sound machine, warning of invokes without onError', () => {
    const report = verify(orderMachine());
    expect(report).toMatchObject({ workflow: 'orders', ok: true, states: 5 });
    expect(report.problems.map((p) => [p.code, p.severity, p.state])).toEqual([
      ['no-error-route', 'warning', 'score'],
    ]);
  });

  it('reports states never entered and states the machine can never leave', () => {
    const machine = setup({}).createMachine({
      id: 'stuck',
      initial: 'a',
      states: { a: { on: { GO: 'b', DONE: 'end' } }, b: {}, orphan: {}, end: { type: 'final' } },
    });
    const report = verify(machine);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => [p.code, p.state])).toEqual([
      ['unreachable-state', 'orphan'],
      ['cannot-finish', '"b"'],
    ]);
  });

  it('finds a path to every end and through every outcome of every invoke', () => {
    const paths = workflowPaths(orderMachine(), { input: { id: 1 } });
    expect(paths.map((p) => [p.name, p.end.status])).toEqual([
      ['lookup fails', 'done'],
      ['lookup done -> score fails -> failed', 'failed'],
      ['lookup done -> score done -> APPROVE', 'done'],
      ['lookup done -> score done -> REJECT', 'done'],
    ]);
    expect(paths[1]?.end.error).toEqual({ stepPath: 'score' });
    expect(paths[1]?.steps.map((s) => [s.step, s.outcome.kind])).toEqual([
      ['lookup', 'done'],
      ['score', 'error'],
    ]);
    expect(paths[0]).toMatchObject({
      workflow: 'orders',
      input: { id: 1 },
      version: verify(orderMachine()).version,
    });
  });

  it('follows delays, transient states and parallel regions', () => {
    const machine = setup({ guards: { enough: ({ context }) => context.n >= 2 } }).createMachine({
      id: 'timed',
      context: { n: 0 },
      initial: 'wait',
      states: {
        wait: { after: { 1000: 'count' } },
        // Passed through at once (`always`): entered, though no walk rests there.
        count: {
          entry: assign({ n: ({ context }) => context.n + 1 }),
          always: [{ guard: 'enough', target: 'both' }, { target: 'wait' }],
        },
        both: {
          type: 'parallel',
          states: {
            a: { initial: 'x', states: { x: { on: { A: 'y' } }, y: { type: 'final' } } },
            b: { initial: 'x', states: { x: { on: { B: 'y' } }, y: { type: 'final' } } },
          },
          onDone: 'end',
        },
        end: { type: 'final' },
      },
    });
    expect(verify(machine)).toMatchObject({ ok: true, problems: [] });
    expect(workflowPaths(machine).map((p) => p.name)).toEqual([
      'wait after 1000 ms -> wait after 1000 ms -> A -> B',
    ]);
  });

  it('gives its machine JSON', () => {
    const json = toStatelyJSON(orderMachine());
    expect(json.id).toBe('orders');
    expect(json).toMatchObject({
      initial: 'lookup',
      states: {
        lookup: { invoke: [{ src: 'lookup' }] },
        review: { on: { APPROVE: [{ target: ['#orders.done'] }] } },
      },
    });
  });
});

describe('engine.start', () => {
  it('binds the machine once and validates the input once per start', async () => {
    let parsed = 0;
    const input = z.object({ n: z.number() }).transform((v) => {
      parsed++;
      return v;
    });
    const wf = workflow('once', { input }).step('a').build();
    const engine = testEngine({ agents: { a: async () => 1 } });
    engine.register(wf);
    const bind = vi.spyOn(Binder.prototype, 'machineFor');
    await engine.start(wf, { n: 1 }).result;
    expect(bind).toHaveBeenCalledTimes(1);
    expect(parsed).toBe(1);
    bind.mockRestore();
  });
});
