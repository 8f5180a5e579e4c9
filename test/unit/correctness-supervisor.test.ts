import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CancelledError, EscalationTimeoutError, StepFailedError, workflow } from '../../src/index.js';
import { SUPERVISOR_ROUNDS } from '../../src/machine/step-types.js';
import { testEngine } from '../support/engine.js';

/** Issue 13: a supervisor that always answers `retry` is bounded by a budget of rounds and one deadline. */

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An agent that always fails, after `ms` (at once by default). */
const failing = (ms = 0) => {
  const agent = vi.fn(async () => {
    if (ms > 0) await wait(ms);
    throw new Error('stuck');
  });
  return agent;
};

/**
 * A supervisor that answers `retry` (after `ms`), keeping each call's signal. Past `valve` calls it aborts, so that
 * an unbounded loop ends the test with a wrong error instead of hanging it.
 */
const retrying = (ms = 0, valve = 50) => {
  const signals: AbortSignal[] = [];
  const agent = vi.fn(async (_input: unknown, ctx: { signal: AbortSignal }) => {
    signals.push(ctx.signal);
    if (ms > 0) await wait(ms);
    if (agent.mock.calls.length >= valve) return { action: 'abort', reason: 'safety valve' };
    return { action: 'retry' };
  });
  return { agent, signals };
};

const supervised = (timeoutMs: number, onTimeout: 'fail' | 'skip' = 'fail') =>
  workflow('supervised')
    .step('work', { agent: 'worker', escalate: { to: 'boss', timeoutMs, onTimeout } })
    .build();

/** Records how the run ended without awaiting it (an unsettled run must not hang the test). */
const watch = (result: Promise<unknown>) => {
  const seen: { value?: unknown; error?: unknown; settled: boolean } = { settled: false };
  result.then(
    (value) => Object.assign(seen, { value, settled: true }),
    (error: unknown) => Object.assign(seen, { error, settled: true }),
  );
  return seen;
};

describe('a supervisor that always answers retry', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it(`is asked at most ${SUPERVISOR_ROUNDS} times, then the step fails with a clear message`, async () => {
    expect(SUPERVISOR_ROUNDS).toBe(10);
    const worker = failing();
    const boss = retrying();
    const run = testEngine({ agents: { worker, boss: boss.agent } }).start(supervised(60_000), {});
    await vi.advanceTimersByTimeAsync(0);
    const error = await run.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error).toMatchObject({ code: 'STEP_FAILED', stepPath: 'work' });
    expect((error as Error).message).toContain(
      "supervisor 'boss' decided 'retry' 10 times (at most 10 supervisor rounds)",
    );
    expect((error as Error).cause).toMatchObject({ message: 'stuck' });
    expect(boss.agent).toHaveBeenCalledTimes(10);
    expect(worker).toHaveBeenCalledTimes(11);
  });

  it('keeps the escalation deadline across rounds: a retry does not reset it', async () => {
    const worker = failing();
    const boss = retrying(300, 20);
    const run = testEngine({ agents: { worker, boss: boss.agent } }).start(supervised(1_000), {});
    const seen = watch(run.result);
    await vi.advanceTimersByTimeAsync(999);
    expect(seen.settled).toBe(false);
    // Rounds asked at 0, 300, 600 and 900: the fourth is still thinking when the deadline passes.
    expect(boss.agent).toHaveBeenCalledTimes(4);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen.error).toBeInstanceOf(EscalationTimeoutError);
    expect(seen.error).toMatchObject({ code: 'ESCALATION_TIMEOUT', stepPath: 'work' });
    expect(boss.signals.at(-1)?.aborted).toBe(true);
    expect(worker).toHaveBeenCalledTimes(4);
  });

  it('applies onTimeout when the deadline passed while the retried agent ran', async () => {
    // The worker fails after 600 ms: escalated at 600 (deadline 1600), again at 1200, and at 1800 it is too late.
    const worker = failing(600);
    const boss = retrying(0, 5);
    const run = testEngine({ agents: { worker, boss: boss.agent } }).start(supervised(1_000, 'skip'), {});
    const seen = watch(run.result);
    await vi.advanceTimersByTimeAsync(1_799);
    expect(seen.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen).toMatchObject({ settled: true, value: { work: null } });
    expect(boss.agent).toHaveBeenCalledTimes(2);
    expect(worker).toHaveBeenCalledTimes(3);
  });

  it('is cancelled while supervising: the supervisor call is aborted and nothing is called again', async () => {
    const worker = failing();
    const boss = retrying(500);
    const run = testEngine({ agents: { worker, boss: boss.agent } }).start(supervised(60_000), {});
    await vi.advanceTimersByTimeAsync(1_200);
    expect(boss.agent).toHaveBeenCalledTimes(3);
    run.cancel();
    await expect(run.result).rejects.toBeInstanceOf(CancelledError);
    expect(run.status).toBe('cancelled');
    expect(boss.signals.at(-1)?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(boss.agent).toHaveBeenCalledTimes(3);
    expect(worker).toHaveBeenCalledTimes(3);
  });

  it('still gives a human a fresh deadline on each escalation', async () => {
    const worker = failing();
    const wf = workflow('human')
      .step('work', { agent: 'worker', escalate: { to: 'human', timeoutMs: 1_000 } })
      .build();
    const run = testEngine({ agents: { worker } }).start(wf, {});
    const seen = watch(run.result);
    await vi.advanceTimersByTimeAsync(900);
    run.resolveEscalation('work', { action: 'retry' });
    await vi.advanceTimersByTimeAsync(900);
    expect(seen.settled).toBe(false);
    expect(run.waitingSteps()).toEqual(['work']);
    await vi.advanceTimersByTimeAsync(100);
    expect(seen.error).toBeInstanceOf(EscalationTimeoutError);
  });
});
