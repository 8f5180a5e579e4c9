import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { type WorkflowDefinition, WorkflowDefinitionError, workflow } from '../../src/index.js';
import { fromJSON } from '../../src/json.js';
import { testEngine } from '../support/engine.js';

function problemsOf(build: () => unknown) {
  try {
    build();
  } catch (error) {
    expect(error).toBeInstanceOf(WorkflowDefinitionError);
    return (error as WorkflowDefinitionError).problems.map((p) => `${p.code} ${p.path.join('.')}`);
  }
  throw new Error('expected a WorkflowDefinitionError');
}

describe('static checks at build time', () => {
  it('lists every problem with its path, not only the first', () => {
    const problems = problemsOf(() =>
      workflow('bad')
        .step('a')
        .step('a')
        .parallel('p', {})
        .parallel('q', { empty: (r) => r })
        .branch('b', [{ when: 'g', then: (x) => x.step('c') }])
        .loop('l', (x) => x.step('d'), { until: 'g', maxIterations: Number.POSITIVE_INFINITY })
        .map('m', { items: 'input', step: { agent: 'e' }, concurrency: 0 })
        .waitFor('w', { event: 'xstate.done', timeoutMs: -1 })
        .step('bad name!')
        .step('r', { retry: { attempts: 1_000, jitter: 2, initialMs: -5 }, timeoutMs: 0 })
        .step('esc', { escalate: { to: 'human', timeoutMs: Number.POSITIVE_INFINITY } })
        .build(),
    );
    expect(problems).toEqual([
      'duplicate-name steps.1.name',
      'empty-parallel steps.2.regions',
      'empty-region steps.3.regions.empty',
      'missing-otherwise steps.4.otherwise',
      'unbounded-loop steps.5.maxIterations',
      'invalid-concurrency steps.6.concurrency',
      'invalid-event steps.7.event',
      'invalid-delay steps.7.timeoutMs',
      'invalid-name steps.8.name',
      'invalid-name steps.8.agent',
      'unbounded-retry steps.9.retry.attempts',
      'invalid-delay steps.9.retry.initialMs',
      'invalid-jitter steps.9.retry.jitter',
      'invalid-delay steps.9.timeoutMs',
      'invalid-delay steps.10.escalate.timeoutMs',
    ]);
  });

  it('refuses an otherwise arm that is not last, and an arm repeating an earlier guard', () => {
    expect(
      problemsOf(() =>
        workflow('arms')
          .branch('br', [
            { when: 'g', then: (x) => x.step('a') },
            { when: 'g', then: (x) => x.step('b') },
            { otherwise: (x) => x.step('c') },
            { when: 'h', then: (x) => x.step('d') },
          ])
          .build(),
      ),
    ).toEqual(['unreachable-arm steps.0.arms.2', 'unreachable-arm steps.0.arms.1']);
  });

  it('refuses an empty workflow, a bad workflow id, a step with both or neither of agent and workflow', () => {
    const child = workflow('child').step('x').build();
    expect(problemsOf(() => workflow('has space').build())).toEqual([
      'invalid-name id',
      'empty-workflow steps',
    ]);
    expect(problemsOf(() => workflow('w').step('s', { agent: 'a', workflow: child }).build())).toEqual([
      'agent-or-workflow steps.0.agent',
    ]);
    expect(problemsOf(() => workflow('w').step('s', { agent: '' }).build())).toEqual([
      'agent-or-workflow steps.0.agent',
    ]);
  });

  it('checks names against the engine when bound: unknown agents, guards and mappings, all at once', () => {
    const wf = workflow('names')
      .step('a', {
        fallback: 'nobody',
        compensate: 'ghost',
        escalate: { to: 'boss', timeoutMs: 10 },
        input: 'myMapping',
      })
      .branch('b', [{ when: 'isBig', then: (x) => x.step('c') }, { otherwise: (x) => x }])
      .loop('l', (x) => x.step('d'), { until: 'results.d.ok', maxIterations: 2 })
      .build();
    const engine = testEngine({ agents: { a: () => 1, d: () => 1 } });
    expect(problemsOf(() => engine.start(wf, {}))).toEqual([
      'unknown-agent steps.0.fallback',
      'unknown-agent steps.0.compensate',
      'unknown-agent steps.0.escalate.to',
      'unknown-mapping steps.0.input',
      'unknown-guard steps.1.arms.0.when',
      'unknown-agent steps.1.arms.0.steps.0.agent',
    ]);
  });

  it('error messages say what was expected and what came', () => {
    let message = '';
    try {
      workflow('msg')
        .map('m', { items: 'input', step: { agent: 'a' }, concurrency: 0 })
        .build();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain("Workflow 'msg' has 1 problem");
    expect(message).toContain(
      'steps[0].concurrency: Expected `concurrency` to be an integer from 1 to 10000, got 0',
    );
  });

  it('refuses retry attempts below 1 as invalid-attempts (unbounded-retry is for too many), in both forms', () => {
    const json = (attempts: number) => ({
      id: 'r',
      steps: [{ kind: 'step', name: 's', agent: 's', retry: { attempts } }],
    });
    for (const attempts of [0, -1, 1.5]) {
      expect(problemsOf(() => fromJSON(json(attempts)))).toEqual(['invalid-attempts steps.0.retry.attempts']);
      expect(problemsOf(() => workflow('r').step('s', { retry: { attempts } }).build())).toEqual([
        'invalid-attempts steps.0.retry.attempts',
      ]);
    }
    expect(problemsOf(() => fromJSON(json(101)))).toEqual(['unbounded-retry steps.0.retry.attempts']);
    expect(() => fromJSON(json(0))).toThrow(
      'steps[0].retry.attempts: Expected `attempts` to be a whole number of at least 1 (the first attempt counts), got 0',
    );
  });
});

describe('definitions', () => {
  it('carry a stable version hash: equal definitions, equal versions', () => {
    const make = (attempts: number) =>
      workflow('v', { input: z.object({ a: z.string() }) })
        .step('s', { retry: { attempts } })
        .build();
    expect(make(2).version).toBe(make(2).version);
    expect(make(2).version).not.toBe(make(3).version);
    expect(make(2).version).toMatch(/^[0-9a-f]{16}$/);
  });

  it('compile to a plain XState machine with step meta, parallel regions and named guards', () => {
    const wf = workflow('shape')
      .step('a', { expectedMs: 100 })
      .parallel('p', { x: (r) => r.step('b'), y: (r) => r.step('c') })
      .branch('br', [{ when: 'results.a.ok', then: (r) => r.step('d') }, { otherwise: (r) => r }])
      .build();
    const machine = wf.machine;
    expect(machine.id).toBe('shape');
    // Flat: the top-level nodes are the root's children, beside its own reserved states.
    const running = machine.root;
    expect(Object.keys(running.states)).toEqual([
      'a',
      'p',
      'br',
      '__compensating',
      '__done',
      '__failed',
      '__compensated',
      '__cancelled',
    ]);
    expect(running?.states.a?.meta).toEqual({
      flowstate: { kind: 'step', name: 'a', agent: 'a', expectedMs: 100 },
    });
    expect(running?.states.p?.type).toBe('parallel');
    expect(Object.keys(running?.states.p?.states ?? {})).toEqual(['x', 'y']);
    const decide = running?.states.br?.states.__decide;
    expect(decide?.always?.map((t) => t.guard)).toEqual(['results.a.ok', undefined]);
    expect(wf.machine).toBe(machine);
  });

  it('type the input and output from the zod schemas and result', () => {
    const wf = workflow('typed', {
      input: z.object({ n: z.number() }),
      result: (ctx) => ({ doubled: ctx.input.n * 2 }),
    })
      .step('a')
      .build();
    expectTypeOf(wf).toEqualTypeOf<WorkflowDefinition<{ n: number }, { doubled: number }>>();
    const engine = testEngine({ agents: { a: () => 1 } });
    expectTypeOf(engine.start(wf, { n: 1 }).result).toEqualTypeOf<Promise<{ doubled: number }>>();
    engine.start(wf, { n: 1 }).cancel();
  });
});
