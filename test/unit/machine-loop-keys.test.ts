import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { type AgentContext, agentActor, workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';

/** An agent that records the idempotency key of every attempt it is called for. */
function recorder(seen: string[], answer: unknown = 'ok') {
  return (_input: unknown, ctx: AgentContext) => {
    seen.push(ctx.idempotencyKey);
    return answer;
  };
}

// A step run again in a later loop round must not share its attempts' keys with an earlier round: the journal
// (and a queue's job ids) would hand a restored round the earlier round's output.
describe('attempt keys inside loops', () => {
  it('tell rounds apart, and a first round keeps the key it always had', async () => {
    const seen: string[] = [];
    const wf = workflow('loop-keys')
      .step('before', { agent: 'rec' })
      .loop('rounds', (b) => b.step('draft', { agent: 'rec' }), { until: () => false, maxIterations: 3 })
      .step('after', { agent: 'rec' })
      .build();
    const engine = testEngine({ agents: { rec: recorder(seen) } });
    await engine.start(wf, {}, { id: 'r' }).result;
    expect(seen).toEqual(['r:before:1', 'r:draft:1', 'r:draft@2:1', 'r:draft@3:1', 'r:after:1']);
  });

  it('tell nested rounds apart', async () => {
    const seen: string[] = [];
    const wf = workflow('nested-loop-keys')
      .loop(
        'outer',
        (o) =>
          o.loop('inner', (i) => i.step('s', { agent: 'rec' }), { until: () => false, maxIterations: 2 }),
        { until: () => false, maxIterations: 2 },
      )
      .build();
    const engine = testEngine({ agents: { rec: recorder(seen) } });
    await engine.start(wf, {}, { id: 'n' }).result;
    expect(seen).toEqual(['n:s:1', 'n:s@1.2:1', 'n:s@2.1:1', 'n:s@2.2:1']);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('reach a child workflow and the items of a map run in a later round', async () => {
    const seen: string[] = [];
    const child = workflow('keyed-child').step('inside', { agent: 'rec' }).build();
    const wf = workflow('loop-child-map')
      .loop(
        'rounds',
        (b) =>
          b
            .step('sub', { workflow: child })
            .map('each', { items: () => [1, 2], step: { agent: 'rec' }, concurrency: 2 }),
        { until: () => false, maxIterations: 2 },
      )
      .build();
    const engine = testEngine({ agents: { rec: recorder(seen) } });
    await engine.start(wf, {}, { id: 'c' }).result;
    expect([...seen].sort()).toEqual(
      [
        'c:sub/inside:1',
        'c:each[0]:1',
        'c:each[1]:1',
        'c:sub/inside@2:1',
        'c:each[0]@2:1',
        'c:each[1]@2:1',
      ].sort(),
    );
  });
});

// A hand-written machine has no compiled loop: each entry of a state with an agent invoke is counted instead.
describe('attempt keys of a hand-written machine that re-enters a state', () => {
  it('tell entries apart, and a first entry keeps the key it always had', async () => {
    const seen: string[] = [];
    const machine = setup({
      types: {} as { context: { n: number } },
      actors: { rec: agentActor<number, string>(), other: agentActor<number, string>() },
    }).createMachine({
      id: 'reenter-keys',
      context: { n: 0 },
      initial: 'work',
      states: {
        work: {
          invoke: {
            src: 'rec',
            input: ({ context }) => context.n,
            onDone: { target: 'check', actions: assign({ n: ({ context }) => context.n + 1 }) },
          },
        },
        check: { always: [{ guard: ({ context }) => context.n < 3, target: 'work' }, { target: 'once' }] },
        once: { invoke: { src: 'other', input: () => 0, onDone: 'done' } },
        done: { type: 'final' },
      },
    });
    const engine = testEngine({ agents: { rec: recorder(seen), other: recorder(seen) } });
    await engine.start(machine, {}, { id: 'h' }).result;
    expect(seen).toEqual(['h:work:1', 'h:work@2:1', 'h:work@3:1', 'h:once:1']);
  });
});
