import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StepFailedError, workflow } from '../../src/index.js';
import { deferred, testEngine } from '../support/engine.js';

/** An agent that fails `failures` times, recording the fake time of each call, then returns `ok`. */
function flaky(failures: number, error: () => Error = () => new Error('boom')) {
  const times: number[] = [];
  const agent = async () => {
    times.push(Date.now());
    if (times.length <= failures) throw error();
    return 'ok';
  };
  return { agent, times };
}

describe('retry and backoff', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('retries with exponential backoff until it succeeds', async () => {
    const { agent, times } = flaky(3);
    const wf = workflow('retry')
      .step('a', { retry: { attempts: 5, initialMs: 100, jitter: 0 } })
      .build();
    const run = testEngine({ agents: { a: agent } }).start(wf, {});
    await vi.advanceTimersByTimeAsync(10_000);
    await expect(run.result).resolves.toEqual({ a: 'ok' });
    expect(times).toEqual([0, 100, 300, 700]);
  });

  it('stops at the attempt limit and fails with the last error as cause', async () => {
    const { agent, times } = flaky(10);
    const wf = workflow('limit')
      .step('a', { retry: { attempts: 3, backoff: 'fixed', initialMs: 50, jitter: 0 } })
      .build();
    const run = testEngine({ agents: { a: agent } }).start(wf, {});
    await vi.advanceTimersByTimeAsync(1_000);
    const error = await run.result.catch((e: unknown) => e);
    expect(times).toEqual([0, 50, 100]);
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error).toMatchObject({ code: 'STEP_FAILED', stepPath: 'a', attempts: 3 });
    expect((error as Error).cause).toMatchObject({ message: 'boom' });
    expect((error as Error).message).not.toContain('boom');
    expect(run.status).toBe('failed');
  });

  it('caps delays at maxMs', async () => {
    const { agent, times } = flaky(4);
    const wf = workflow('cap')
      .step('a', { retry: { attempts: 5, initialMs: 100, maxMs: 250, jitter: 0 } })
      .build();
    const run = testEngine({ agents: { a: agent } }).start(wf, {});
    await vi.advanceTimersByTimeAsync(5_000);
    await run.result;
    expect(times).toEqual([0, 100, 300, 550, 800]);
  });

  it('keeps jittered delays within [d * (1 - jitter), d]', async () => {
    for (const r of [0, 0.5, 0.999]) {
      vi.setSystemTime(0);
      const { agent, times } = flaky(1);
      const wf = workflow('jitter')
        .step('a', { retry: { attempts: 2, initialMs: 1_000, jitter: 0.5 } })
        .build();
      const run = testEngine({ agents: { a: agent }, random: () => r }).start(wf, {});
      await vi.advanceTimersByTimeAsync(2_000);
      await run.result;
      const delay = (times[1] as number) - (times[0] as number);
      expect(delay).toBeGreaterThanOrEqual(500);
      expect(delay).toBeLessThanOrEqual(1_000);
      expect(delay).toBe(Math.round(1_000 * (1 - 0.5 * r)));
    }
  });

  it('does not retry errors outside retryOn, nor errors marked retryable: false', async () => {
    const coded = (code: string) => Object.assign(new Error(code), { code });
    const notListed = flaky(5, () => coded('FATAL'));
    const marked = flaky(5, () => Object.assign(new Error('no'), { retryable: false }));
    const listed = flaky(1, () => coded('RATE_LIMITED'));
    const wf = (agent: string, retryOn?: string[]) =>
      workflow('retry-on')
        .step('a', {
          agent,
          retry: { attempts: 3, initialMs: 10, jitter: 0, ...(retryOn ? { retryOn } : {}) },
        })
        .build();
    const engine = testEngine({
      agents: { notListed: notListed.agent, marked: marked.agent, listed: listed.agent },
    });
    const runs = [
      engine.start(wf('notListed', ['RATE_LIMITED']), {}),
      engine.start(wf('marked'), {}),
      engine.start(wf('listed', ['RATE_LIMITED']), {}),
    ];
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(runs[0]?.result).rejects.toBeInstanceOf(StepFailedError);
    await expect(runs[1]?.result).rejects.toBeInstanceOf(StepFailedError);
    await expect(runs[2]?.result).resolves.toEqual({ a: 'ok' });
    expect([notListed.times.length, marked.times.length, listed.times.length]).toEqual([1, 1, 2]);
  });

  it('aborts an attempt at its timeout and retries it; the late result is ignored', async () => {
    const signals: AbortSignal[] = [];
    const first = deferred<string>();
    let calls = 0;
    const wf = workflow('timeout')
      .step('a', { timeoutMs: 1_000, retry: { attempts: 2, initialMs: 10, jitter: 0 } })
      .build();
    const run = testEngine({
      agents: {
        a: (_input, ctx) => {
          signals.push(ctx.signal);
          calls++;
          return calls === 1 ? first.promise : 'second';
        },
      },
    }).start(wf, {});
    await vi.advanceTimersByTimeAsync(999);
    expect(signals[0]?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toMatchObject({ code: 'STEP_TIMEOUT' });
    first.resolve('late');
    await vi.advanceTimersByTimeAsync(20);
    await expect(run.result).resolves.toEqual({ a: 'second' });
  });

  it('fails with STEP_TIMEOUT as cause when the only attempt times out', async () => {
    const wf = workflow('timeout-fail').step('a', { timeoutMs: 100 }).build();
    const run = testEngine({ agents: { a: () => new Promise(() => {}) } }).start(wf, {});
    await vi.advanceTimersByTimeAsync(100);
    const error = await run.result.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STEP_FAILED', attempts: 1 });
    expect((error as Error).cause).toMatchObject({ code: 'STEP_TIMEOUT' });
  });

  it('switches to the fallback agent once the primary is out of attempts', async () => {
    const primary = flaky(10);
    const wf = workflow('fallback')
      .step('a', { agent: 'primary', fallback: 'backup', retry: { attempts: 2, initialMs: 10, jitter: 0 } })
      .build();
    const backup = vi.fn(async (_input: unknown, _ctx: unknown) => 'from backup');
    const run = testEngine({ agents: { primary: primary.agent, backup } }).start(wf, {});
    await vi.advanceTimersByTimeAsync(100);
    await expect(run.result).resolves.toEqual({ a: 'from backup' });
    expect(primary.times.length).toBe(2);
    expect(backup).toHaveBeenCalledTimes(1);
    expect(backup.mock.calls[0]?.[1]).toMatchObject({ attempt: 3 });
  });
});
