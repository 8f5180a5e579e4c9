import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assign, fromPromise, setup } from 'xstate';
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
      lookup: fromPromise<{ name: string }, { id: number }>(async () => {
        throw new Error('provided by the engine');
      }),
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
    expect(run.status).toBe('running');
    run.actor.send({ type: 'APPROVE' });
    await expect(run.result).resolves.toEqual({ row: { name: 'order 42' }, score: 7 });
    expect(keys).toEqual(['r1:lookup:1', 'r1:lookup:2', 'r1:lookup:3']);
    expect(run.status).toBe('done');
  });
});
