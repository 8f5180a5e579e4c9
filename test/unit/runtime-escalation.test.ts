import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ConfigurationError,
  EscalationTimeoutError,
  InputValidationError,
  StepFailedError,
  workflow,
} from '../../src/index.js';
import { testEngine } from '../support/engine.js';

const failing = () => {
  let calls = 0;
  const agent = vi.fn(async () => {
    calls++;
    if (calls <= 1) throw new Error('first call fails');
    return 'recovered';
  });
  return agent;
};

const escalating = (onTimeout: 'fail' | 'skip' = 'fail') =>
  workflow('esc')
    .step('review', { escalate: { to: 'human', timeoutMs: 60_000, onTimeout } })
    .step('after', { input: 'results.review' })
    .build();

describe('escalation to a human', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('waits for a decision and retries the step on `retry`', async () => {
    const review = failing();
    const after = vi.fn(async (input: unknown) => input);
    const run = testEngine({ agents: { review, after } }).start(escalating(), {});
    await vi.advanceTimersByTimeAsync(0);
    expect(run.status).toBe('waiting');
    expect(run.waitingSteps()).toEqual(['review']);
    run.resolveEscalation('review', { action: 'retry' });
    await expect(run.result).resolves.toEqual({ review: 'recovered', after: 'recovered' });
    expect(review).toHaveBeenCalledTimes(2);
  });

  it('skips the step with the given value on `skip`', async () => {
    const run = testEngine({ agents: { review: failing(), after: async (x: unknown) => x } }).start(
      escalating(),
      {},
    );
    await vi.advanceTimersByTimeAsync(0);
    run.resolveEscalation('review', { action: 'skip', value: { approved: false } });
    await expect(run.result).resolves.toEqual({ review: { approved: false }, after: { approved: false } });
  });

  it('fails the step on `abort`, with the reason as message and the agent error as cause', async () => {
    const run = testEngine({ agents: { review: failing(), after: async () => 1 } }).start(escalating(), {});
    await vi.advanceTimersByTimeAsync(0);
    run.resolveEscalation('review', { action: 'abort', reason: 'not worth it' });
    const error = await run.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect((error as Error).message).toContain('not worth it');
    expect((error as Error).cause).toMatchObject({ message: 'first call fails' });
  });

  it('fails with EscalationTimeoutError at its deadline, not a millisecond before', async () => {
    const run = testEngine({ agents: { review: failing(), after: async () => 1 } }).start(escalating(), {});
    await vi.advanceTimersByTimeAsync(59_999);
    expect(run.status).toBe('waiting');
    await vi.advanceTimersByTimeAsync(1);
    const error = await run.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EscalationTimeoutError);
    expect(error).toMatchObject({ code: 'ESCALATION_TIMEOUT', stepPath: 'review' });
  });

  it('skips with null at the deadline when onTimeout is skip', async () => {
    const run = testEngine({ agents: { review: failing(), after: async (x: unknown) => x } }).start(
      escalating('skip'),
      {},
    );
    await vi.advanceTimersByTimeAsync(60_000);
    await expect(run.result).resolves.toEqual({ review: null, after: null });
  });

  it('refuses a decision for a step that is not escalated, and a malformed decision', async () => {
    const run = testEngine({ agents: { review: failing(), after: async () => 1 } }).start(escalating(), {});
    expect(() => run.resolveEscalation('review', { action: 'retry' })).toThrow(ConfigurationError);
    expect(() => run.resolveEscalation('nope', { action: 'retry' })).toThrow(/no such step/);
    await vi.advanceTimersByTimeAsync(0);
    expect(() => run.resolveEscalation('review', { action: 'later' } as never)).toThrow(InputValidationError);
    // The issues say what is wrong, with zod's paths and messages.
    expect(() => run.resolveEscalation('review', { action: 'abort', reason: 7, by: 'x' } as never)).toThrow(
      expect.objectContaining({
        stepPath: 'review',
        issues: [
          {
            path: ['reason'],
            code: 'invalid_type',
            message: 'Invalid input: expected string, received number',
          },
          { path: [], code: 'unrecognized_keys', message: 'Unrecognized key: "by"' },
        ],
      }),
    );
    run.cancel();
    await run.result.catch(() => {});
  });
});

describe('escalation to a supervisor agent', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('asks the supervisor with the failure and applies its decision', async () => {
    const supervisor = vi.fn(async () => ({ action: 'skip', value: 'supervised' }));
    const wf = workflow('sup')
      .step('work', { agent: 'worker', escalate: { to: 'boss', timeoutMs: 1_000 } })
      .build();
    const run = testEngine({
      agents: {
        worker: async () => {
          throw new Error('stuck');
        },
        boss: supervisor,
      },
    }).start(wf, { q: 1 });
    await expect(run.result).resolves.toEqual({ work: 'supervised' });
    expect(supervisor).toHaveBeenCalledWith(
      expect.objectContaining({
        step: 'work',
        agent: 'worker',
        input: { q: 1 },
        attempts: 1,
        error: expect.objectContaining({ message: 'stuck' }),
      }),
      expect.anything(),
    );
  });

  it('fails the step when the supervisor returns no valid decision', async () => {
    const wf = workflow('sup-bad')
      .step('work', { agent: 'worker', escalate: { to: 'boss', timeoutMs: 1_000 } })
      .build();
    const run = testEngine({
      agents: {
        worker: async () => {
          throw new Error('stuck');
        },
        boss: async () => 'whatever',
      },
    }).start(wf, {});
    await expect(run.result).rejects.toMatchObject({
      code: 'STEP_FAILED',
      message: expect.stringContaining('no valid decision'),
    });
  });
});

describe('a supervisor that does not answer', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('times out at the escalation deadline and aborts the supervisor call', async () => {
    let signal: AbortSignal | undefined;
    const wf = workflow('sup-slow')
      .step('work', { agent: 'worker', escalate: { to: 'boss', timeoutMs: 500 } })
      .build();
    const run = testEngine({
      agents: {
        worker: async () => {
          throw new Error('stuck');
        },
        boss: (_input: unknown, ctx: { signal: AbortSignal }) => {
          signal = ctx.signal;
          return new Promise(() => {});
        },
      },
    }).start(wf, {});
    await vi.advanceTimersByTimeAsync(500);
    await expect(run.result).rejects.toBeInstanceOf(EscalationTimeoutError);
    expect(signal?.aborted).toBe(true);
  });
});
