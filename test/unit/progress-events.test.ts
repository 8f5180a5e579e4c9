import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type StepLogEvent, workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';
import { sleeper } from '../support/progress.js';

/** `at path type detail` lines, the detail being what each event type carries. */
function line(e: StepLogEvent): string {
  const detail = (() => {
    switch (e.type) {
      case 'attempt-failed':
      case 'failed':
        return e.reason;
      case 'retry-scheduled':
        return `${e.delayMs} ms, ${e.agent}`;
      case 'timed-out':
        return e.of;
      case 'escalated':
        return e.to;
      case 'resolved':
        return e.action;
      case 'compensated':
        return e.by;
      case 'skipped':
        return e.reason ?? '';
      default:
        return '';
    }
  })();
  return `${e.at} ${e.path} #${e.attempt} ${e.type}${detail ? ` (${detail})` : ''}`;
}

const failing = (message: string) => async () => {
  throw new Error(message);
};

describe('run.events$', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('tells a timeout, a retry with its delay, an escalation and its resolution, in order', async () => {
    let calls = 0;
    const wf = workflow('ev')
      .step('flaky', {
        retry: { attempts: 2, initialMs: 50 },
        timeoutMs: 100,
        escalate: { to: 'human', timeoutMs: 1_000 },
      })
      .build();
    const run = testEngine({
      agents: {
        flaky: async () => {
          calls++;
          if (calls === 1) await new Promise((r) => setTimeout(r, 500));
          if (calls < 4) throw new Error(`boom ${calls}`);
          return 'ok';
        },
      },
    }).start(wf, {});
    const events: string[] = [];
    run.events$.subscribe((e) => events.push(line(e)));
    await vi.advanceTimersByTimeAsync(300);
    run.resolveEscalation('flaky', { action: 'retry' });
    await vi.advanceTimersByTimeAsync(1_000);
    await run.result;
    // A subscriber that comes after the end gets each step's start and end, then completion.
    const late: string[] = [];
    let completed = false;
    run.events$.subscribe({ next: (e) => late.push(line(e)), complete: () => (completed = true) });
    expect(completed).toBe(true);
    expect(late).toEqual(['0 flaky #1 started', '350 flaky #4 done']);
    expect(events).toEqual([
      '0 flaky #1 started',
      '100 flaky #1 timed-out (attempt)',
      '100 flaky #1 retry-scheduled (50 ms, flaky)',
      '150 flaky #2 attempt-failed (boom 2)',
      '150 flaky #2 escalated (human)',
      '300 flaky #3 resolved (retry)',
      '300 flaky #3 attempt-failed (boom 3)',
      '300 flaky #3 retry-scheduled (50 ms, flaky)',
      '350 flaky #4 done',
    ]);
  });

  it('tells skips, fallbacks, wait timeouts, escalation timeouts, aborts and compensations', async () => {
    const wf = workflow('many', { onError: 'compensate' })
      .step('opt', { agent: 'bad', onError: 'skip' })
      .step('fb', { agent: 'bad', fallback: 'good', compensate: 'undo' })
      .waitFor('ok', { event: 'ok', timeoutMs: 200, onTimeout: 'skip' })
      .step('lapse', { agent: 'bad', escalate: { to: 'human', timeoutMs: 100, onTimeout: 'skip' } })
      .step('judge', { agent: 'bad', escalate: { to: 'human', timeoutMs: 100 } })
      .build();
    const run = testEngine({
      agents: { bad: failing('bad'), good: async () => 'good', undo: sleeper(() => 10) },
    }).start(wf, {});
    const events: string[] = [];
    run.events$.subscribe((e) => events.push(line(e)));
    await vi.advanceTimersByTimeAsync(350);
    run.resolveEscalation('judge', { action: 'abort', reason: 'no' });
    await vi.advanceTimersByTimeAsync(100);
    await expect(run.result).rejects.toMatchObject({ code: 'STEP_FAILED' });
    expect(events).toEqual([
      '0 opt #1 started',
      '0 opt #1 attempt-failed (bad)',
      "0 opt #1 failed (Step 'opt' failed after 1 attempt: bad)",
      "0 opt #1 skipped (Step 'opt' failed after 1 attempt: bad)",
      '0 fb #1 started',
      '0 fb #1 attempt-failed (bad)',
      '0 fb #2 retry-scheduled (0 ms, good)',
      '0 fb #2 done',
      '0 ok #1 started',
      '200 ok #1 timed-out (wait)',
      '200 ok #1 failed (No event within 200 ms)',
      '200 ok #1 skipped (No event within 200 ms)',
      '200 lapse #1 started',
      '200 lapse #1 attempt-failed (bad)',
      '200 lapse #1 escalated (human)',
      '300 lapse #1 timed-out (escalation)',
      '300 lapse #1 done',
      '300 judge #1 started',
      '300 judge #1 attempt-failed (bad)',
      '300 judge #1 escalated (human)',
      '350 judge #1 resolved (abort)',
      '350 judge #1 failed (no: bad)',
      '350 fb/compensate #1 started',
      '360 fb/compensate #1 done',
      '360 fb #1 compensated (fb/compensate)',
    ]);
  });

  it('tells a wait that times out and fails the run, and a wait that got its event', async () => {
    const wf = workflow('waits')
      .waitFor('first', { event: 'go', timeoutMs: 500 })
      .waitFor('late', { event: 'late', timeoutMs: 200 })
      .build();
    const run = testEngine({}).start(wf, {});
    const events: string[] = [];
    run.events$.subscribe((e) => events.push(line(e)));
    await vi.advanceTimersByTimeAsync(100);
    await run.send({ type: 'go' });
    await vi.advanceTimersByTimeAsync(300);
    await expect(run.result).rejects.toMatchObject({ code: 'WAIT_TIMEOUT' });
    expect(events).toEqual([
      '0 first #1 started',
      '100 first #1 done',
      '100 late #1 started',
      '300 late #1 timed-out (wait)',
      '300 late #1 failed (No event within 200 ms)',
    ]);
  });

  it('tells a skip decision, an escalation timeout that fails, a supervisor, and cancelled steps', async () => {
    const wf = workflow('more')
      .step('skipMe', { agent: 'bad', escalate: { to: 'human', timeoutMs: 1_000 } })
      .step('boss', { agent: 'bad', escalate: { to: 'supervisor', timeoutMs: 1_000 } })
      .parallel('p', {
        a: (r) => r.step('late', { agent: 'bad', escalate: { to: 'human', timeoutMs: 50 } }),
        b: (r) => r.step('slow'),
      })
      .build();
    const run = testEngine({
      agents: {
        bad: failing('bad'),
        supervisor: async () => ({ action: 'skip', value: 1 }),
        slow: sleeper(() => 1_000),
      },
    }).start(wf, {});
    const events: StepLogEvent[] = [];
    run.events$.subscribe((e) => events.push(e));
    await vi.advanceTimersByTimeAsync(10);
    run.resolveEscalation('skipMe', { action: 'skip', value: 0 });
    await vi.advanceTimersByTimeAsync(100);
    await expect(run.result).rejects.toMatchObject({ code: 'ESCALATION_TIMEOUT' });
    const types = events.map((e) => `${e.path} ${e.type}`);
    expect(types).toEqual([
      'skipMe started',
      'skipMe attempt-failed',
      'skipMe escalated',
      'skipMe resolved',
      'skipMe done',
      'boss started',
      'boss attempt-failed',
      'boss escalated',
      'boss resolved',
      'boss done',
      'late started',
      'slow started',
      'late attempt-failed',
      'late escalated',
      'late timed-out',
      'late failed',
      'slow cancelled',
    ]);
    expect(events.find((e) => e.type === 'resolved' && e.path === 'boss')).toMatchObject({ action: 'skip' });
    expect(events.find((e) => e.type === 'escalated' && e.path === 'boss')).toMatchObject({
      to: 'supervisor',
    });
  });

  it('writes every step event through the engine logger as a structured line', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const wf = workflow('logged')
      .step('a', { retry: { attempts: 2, initialMs: 10 } })
      .build();
    let calls = 0;
    const run = testEngine({
      logger,
      agents: {
        a: async () => {
          if (++calls === 1) throw new Error('once');
          return 'ok';
        },
      },
    }).start(wf, {}, { id: 'run-7' });
    await vi.advanceTimersByTimeAsync(100);
    await run.result;
    const steps = lines.filter((l) => typeof l.event === 'string');
    expect(steps.map((l) => [l.level, l.msg, l.step, l.event])).toEqual([
      [20, 'step started', 'a', 'started'],
      [20, 'step attempt-failed', 'a', 'attempt-failed'],
      [20, 'step retry-scheduled', 'a', 'retry-scheduled'],
      [20, 'step done', 'a', 'done'],
    ]);
    expect(steps[2]).toMatchObject({ workflowId: 'run-7', workflow: 'logged', attempt: 1, delayMs: 10 });
  });
});
