import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { InputValidationError, OutputValidationError, workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';

describe('a sequence of steps', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('runs steps in order, each agent getting the workflow input or its mapped input', async () => {
    const calls: Array<[string, unknown]> = [];
    const wf = workflow('seq', { input: z.object({ n: z.number() }) })
      .step('double', { agent: 'double' })
      .step('inc', { agent: 'inc', input: (ctx) => ctx.results.double })
      .step('last', { agent: 'inc', input: 'results.inc' })
      .build();
    const engine = testEngine({
      agents: {
        double: async (input: { n: number }) => {
          calls.push(['double', input]);
          return input.n * 2;
        },
        inc: async (input: number) => {
          calls.push(['inc', input]);
          return input + 1;
        },
      },
    });
    const run = engine.start(wf, { n: 5 });
    await expect(run.result).resolves.toEqual({ double: 10, inc: 11, last: 12 });
    expect(calls).toEqual([
      ['double', { n: 5 }],
      ['inc', 10],
      ['inc', 11],
    ]);
    expect(run.status).toBe('done');
  });

  it('defaults a step agent to the step name and shapes the output with `result`', async () => {
    const wf = workflow('named', { result: (ctx) => ({ total: ctx.results.count }) })
      .step('count')
      .build();
    const engine = testEngine({ agents: { count: () => 3 } });
    await expect(engine.start(wf, undefined).result).resolves.toEqual({ total: 3 });
  });

  it('gives each agent its context: attempt, workflow id, step path and idempotency key', async () => {
    const seen: unknown[] = [];
    const wf = workflow('ctx').step('a').build();
    const engine = testEngine({
      agents: {
        a: (_input, ctx) => {
          seen.push({
            attempt: ctx.attempt,
            id: ctx.workflowId,
            step: ctx.step,
            key: ctx.idempotencyKey,
            signal: ctx.signal.aborted,
          });
          ctx.logger.debug('agent logs through the engine logger');
          return null;
        },
      },
    });
    await engine.start(wf, {}, { id: 'run-1' }).result;
    expect(seen).toEqual([{ attempt: 1, id: 'run-1', step: 'a', key: 'run-1:a:1', signal: false }]);
  });

  it('refuses bad input with every zod issue and its path, starting nothing', () => {
    const agent = vi.fn();
    const wf = workflow('typed', { input: z.object({ table: z.string(), limit: z.number().int() }) })
      .step('a')
      .build();
    const engine = testEngine({ agents: { a: agent } });
    let error: unknown;
    try {
      engine.start(wf, { table: 3, limit: 1.5 } as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputValidationError);
    const issues = (error as InputValidationError).issues.map((i) => i.path.join('.'));
    expect(issues).toEqual(['table', 'limit']);
    expect((error as InputValidationError).code).toBe('INPUT_INVALID');
    expect(agent).not.toHaveBeenCalled();
    expect(engine.active.size).toBe(0);
  });

  it('rejects with an OutputValidationError when the output breaks the output schema', async () => {
    const wf = workflow('out', { output: z.object({ a: z.string() }) })
      .step('a')
      .build();
    const engine = testEngine({ agents: { a: () => 42 } });
    const error = await engine.start(wf, {}).result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutputValidationError);
    expect((error as OutputValidationError).issues[0]?.path).toEqual(['a']);
  });

  it('runs an agent that is itself an XState machine', async () => {
    const { setup } = await import('xstate');
    const machine = setup({
      types: { context: {} as { n: number }, input: {} as { n: number } },
    }).createMachine({
      context: ({ input }) => ({ n: input.n }),
      initial: 'go',
      states: { go: { type: 'final' } },
      output: ({ context }) => context.n + 100,
    });
    const wf = workflow('actor-agent').step('m').build();
    const engine = testEngine({ agents: { m: machine } });
    await expect(engine.start(wf, { n: 1 }).result).resolves.toEqual({ m: 101 });
  });
});

describe('a run whose actor is stopped from outside', () => {
  it('ends cancelled instead of crashing', async () => {
    const wf = workflow('stopped').step('a').build();
    const run = testEngine({ agents: { a: () => new Promise(() => {}) } }).start(wf, {});
    run.actor.stop();
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(run.status).toBe('cancelled');
  });
});
