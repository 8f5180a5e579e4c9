import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ConfigurationError, InputValidationError, WaitTimeoutError, workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';

describe('waitFor', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  const approval = (onTimeout: 'fail' | 'skip' = 'fail') =>
    workflow('approval')
      .step('plan')
      .waitFor('approve', {
        event: 'approved',
        schema: z.object({ by: z.string().min(1) }),
        timeoutMs: 10_000,
        onTimeout,
      })
      .step('apply', { input: 'results.approve' })
      .build();

  it('takes the event payload (validated) as the step result', async () => {
    const run = testEngine({ agents: { plan: () => 'p', apply: (x: unknown) => x } }).start(approval(), {});
    await vi.advanceTimersByTimeAsync(0);
    expect(run.status).toBe('waiting');
    expect(run.waitingSteps()).toEqual(['approve']);
    expect(run.send({ type: 'approved', by: 'ana' })).toBe(true);
    await expect(run.result).resolves.toEqual({ plan: 'p', approve: { by: 'ana' }, apply: { by: 'ana' } });
  });

  it('refuses a payload that breaks the schema, with its zod path, and keeps waiting', async () => {
    const run = testEngine({ agents: { plan: () => 'p', apply: (x: unknown) => x } }).start(approval(), {});
    await vi.advanceTimersByTimeAsync(0);
    let error: unknown;
    try {
      run.send({ type: 'approved', by: '' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputValidationError);
    expect((error as InputValidationError).issues[0]?.path).toEqual(['by']);
    expect(run.status).toBe('waiting');
    expect(run.send({ type: 'unrelated' })).toBe(false);
    expect(() => run.send({ type: 'xstate.init' })).toThrow(ConfigurationError);
    run.cancel();
    await run.result.catch(() => {});
  });

  it('fails with WaitTimeoutError at the deadline, or skips with null', async () => {
    const engine = testEngine({ agents: { plan: () => 'p', apply: (x: unknown) => x } });
    const failing = engine.start(approval('fail'), {});
    const skipping = engine.start(approval('skip'), {});
    await vi.advanceTimersByTimeAsync(9_999);
    expect(failing.status).toBe('waiting');
    await vi.advanceTimersByTimeAsync(1);
    await expect(failing.result).rejects.toBeInstanceOf(WaitTimeoutError);
    await expect(skipping.result).resolves.toEqual({ plan: 'p', approve: null, apply: null });
  });
});

describe('child workflows', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  const child = workflow('child', {
    input: z.object({ table: z.string() }),
    result: (ctx) => ctx.results.count,
  })
    .step('count')
    .build();

  it('runs a workflow as a step: its result under the step, its steps under the step path', async () => {
    const paths: string[] = [];
    const parent = workflow('parent')
      .step('pick')
      .step('sub', { workflow: child, input: (ctx) => ({ table: ctx.results.pick }) })
      .build();
    const run = testEngine({
      agents: {
        pick: () => 'orders',
        count: (input: { table: string }, ctx: { step: string }) => {
          paths.push(ctx.step);
          return input.table.length;
        },
      },
    }).start(parent, {});
    await expect(run.result).resolves.toEqual({ pick: 'orders', sub: 6 });
    expect(paths).toEqual(['sub/count']);
  });

  it("fails the parent step with the child's error, and with the child's input errors", async () => {
    const parent = workflow('parent-fail')
      .step('sub', { workflow: child, input: () => ({ table: 'x' }) })
      .build();
    const badInput = workflow('parent-bad')
      .step('sub', { workflow: child, input: () => ({ table: 1 }) })
      .build();
    const engine = testEngine({
      agents: {
        count: async () => {
          throw new Error('count failed');
        },
      },
    });
    await expect(engine.start(parent, {}).result).rejects.toMatchObject({
      code: 'STEP_FAILED',
      stepPath: 'sub/count',
    });
    await expect(engine.start(badInput, {}).result).rejects.toMatchObject({ code: 'INPUT_INVALID' });
  });

  it('lets a child step escalate and be resolved by its path', async () => {
    const escalating = workflow('child-esc')
      .step('risky', { escalate: { to: 'human', timeoutMs: 1_000 } })
      .build();
    const parent = workflow('parent-esc').step('sub', { workflow: escalating }).build();
    const run = testEngine({
      agents: {
        risky: async () => {
          throw new Error('needs a human');
        },
      },
    }).start(parent, {});
    await vi.advanceTimersByTimeAsync(0);
    expect(run.waitingSteps()).toEqual(['sub/risky']);
    run.resolveEscalation('sub/risky', { action: 'skip', value: 'ok' });
    await expect(run.result).resolves.toEqual({ sub: { risky: 'ok' } });
  });
});

describe('compensation', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('runs the compensations of completed steps in reverse order and ends compensated with the original error', async () => {
    const undone: string[] = [];
    const undo = (name: string) => (input: { step: string; output: unknown }) => {
      undone.push(`${name}:${input.step}:${String(input.output)}`);
      return null;
    };
    const wf = workflow('saga', { onError: 'compensate' })
      .step('reserve', { compensate: 'release' })
      .step('plain')
      .step('charge', { compensate: 'refund' })
      .step('ship')
      .build();
    const run = testEngine({
      agents: {
        reserve: () => 'r1',
        plain: () => 'p',
        charge: () => 'c1',
        ship: async () => {
          throw new Error('no truck');
        },
        release: undo('release'),
        refund: undo('refund'),
      },
    }).start(wf, {});
    const error = await run.result.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STEP_FAILED', stepPath: 'ship' });
    expect(undone).toEqual(['refund:charge:c1', 'release:reserve:r1']);
    expect(run.status).toBe('compensated');
  });

  it('keeps compensating when one compensation fails, and skips a step with onError: skip', async () => {
    const calls: string[] = [];
    const wf = workflow('saga2')
      .step('a', { compensate: 'undoA' })
      .step('b', { compensate: 'undoB' })
      .step('optional', { onError: 'skip' })
      .step('c', { onError: 'compensate' })
      .build();
    const run = testEngine({
      agents: {
        a: () => 1,
        b: () => 2,
        optional: async () => {
          throw new Error('meh');
        },
        c: async () => {
          throw new Error('c failed');
        },
        undoA: () => {
          calls.push('undoA');
          return null;
        },
        undoB: async () => {
          calls.push('undoB');
          throw new Error('undo failed');
        },
      },
    }).start(wf, {});
    await expect(run.result).rejects.toMatchObject({ stepPath: 'c' });
    expect(calls).toEqual(['undoB', 'undoA']);
    // One compensation failed: not every change was undone, so the run ends `failed`, not `compensated`.
    expect(run.status).toBe('failed');
    const snapshot = run.actor.getSnapshot();
    expect(snapshot.context.skipped).toEqual(['optional']);
    expect(snapshot.output).toMatchObject({
      status: 'failed',
      compensationErrors: [{ stepPath: 'b/compensate' }],
    });
  });
});
