import { Subject } from 'rxjs';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { jsonLinesReporter, type Progress, terminalReporter, workflow } from '../../src/index.js';
import { formatMs } from '../../src/progress/reporters/format.js';
import { shortReason } from '../../src/progress/reporters/step-lines.js';
import { renderFrame } from '../../src/progress/reporters/terminal.js';
import { testEngine } from '../support/engine.js';
import { plain, sink, sleeper } from '../support/progress.js';

function demoRun() {
  const wf = workflow('demo')
    .step('fetch', { expectedMs: 100 })
    .parallel('p', {
      a: (r) => r.step('lint', { retry: { attempts: 2, initialMs: 20 } }),
      b: (r) => r.step('scan'),
    })
    .step('oops', { onError: 'skip' })
    .build();
  let lint = 0;
  return testEngine({
    agents: {
      fetch: sleeper(() => 100),
      lint: async () => {
        await new Promise((r) => setTimeout(r, 50));
        if (++lint === 1) throw new Error('lint crashed');
        return 'ok';
      },
      scan: sleeper(() => 300),
      oops: async () => {
        throw new Error('oops');
      },
    },
    progress: { throttleMs: 0 },
  }).start(wf, {});
}

describe('reporters', () => {
  // The TTY reporter imports log-update for its first frame, which takes real time the fake clock does not wait
  // for; loaded here, that import settles at once (a cold start is tested in 'a TTY reporter loads log-update').
  beforeAll(async () => {
    await import('log-update');
  });
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('json lines: one parseable object per emission, the last one final', async () => {
    const out = sink(false);
    const run = demoRun();
    const reporter = jsonLinesReporter(run.progress$, out);
    await vi.advanceTimersByTimeAsync(1_000);
    await reporter.done;
    const lines = out.text().trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(5);
    const objects = lines.map((l) => JSON.parse(l) as Progress);
    expect(objects[0]).toMatchObject({ workflowId: 'demo', status: 'running' });
    expect(objects.at(-1)).toMatchObject({ status: 'done', percent: 100 });
  });

  it('terminal, not a TTY: plain lines a CI log can read', async () => {
    const out = sink(false);
    const run = demoRun();
    const reporter = terminalReporter(run.progress$, { stream: out });
    await vi.advanceTimersByTimeAsync(1_000);
    await reporter.done;
    expect(out.text()).not.toContain('\u001b');
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        '  ▶ fetch',
        '  ✓ fetch 100 ms',
        '  ▶ lint',
        // From run.events$, which run.progress$ brings along: the retry with its reason and its delay.
        '  ↻ lint attempt 1 failed (lint crashed); retrying in 20 ms',
        '  ✓ lint 120 ms (2 attempts)',
        "  ✗ oops: Step 'oops' failed after 1 attempt: oops",
        '  ↷ oops skipped',
      ]),
    );
    expect(lines.filter((l) => l.startsWith('['))[0]).toMatch(
      /^\[ {2}0%\] 0 done, 1 running, 3 pending; ETA/,
    );
    expect(lines.at(-1)).toBe('✓ demo done in 400 ms: 3 steps done, 1 skipped');
  });

  it('terminal, not a TTY: every retry has its line and reason, inside a throttle window too; a timeout says so', async () => {
    const out = sink(false);
    const wf = workflow('flaky')
      .step('a', { retry: { attempts: 4, initialMs: 10, backoff: 'fixed' } })
      .step('b', { timeoutMs: 50, retry: { attempts: 2, initialMs: 10 } })
      .build();
    let calls = 0;
    const run = testEngine({
      agents: {
        a: async () => {
          calls++;
          if (calls < 4) throw new Error(`upstream 503 (call ${calls})\n    at fetch (net.js:1:1)`);
          return 'ok';
        },
        b: sleeper(() => 1_000),
      },
      // One window holds all of a's attempts: progress values alone would show one retry of three.
      progress: { throttleMs: 10_000 },
    }).start(wf, {});
    const reporter = terminalReporter(run.progress$, { stream: out });
    await vi.advanceTimersByTimeAsync(1_000);
    await reporter.done;
    const lines = out.text().trimEnd().split('\n');
    expect(lines.filter((l) => l.includes('↻'))).toEqual([
      '  ↻ a attempt 1 failed (upstream 503 (call 1) at fetch (net.js:1:1)); retrying in 10 ms',
      '  ↻ a attempt 2 failed (upstream 503 (call 2) at fetch (net.js:1:1)); retrying in 10 ms',
      '  ↻ a attempt 3 failed (upstream 503 (call 3) at fetch (net.js:1:1)); retrying in 10 ms',
      expect.stringMatching(/^ {2}↻ b attempt 1 timed out \(.*timed out after 50 ms.*\); retrying in 10 ms$/),
    ]);
    expect(lines).toContain('  ✓ a 30 ms (4 attempts)');
    expect(lines.find((l) => l.startsWith('  ✗ b'))).toMatch(/^ {2}✗ b timed out: .*50 ms/);
    expect(lines.at(-1)).toMatch(/^✗ flaky failed after/);
  });

  it('step lines: a reason is one short line, and a run secret never reaches it', async () => {
    expect(shortReason(`a\n  b\t c ${'x'.repeat(200)}`)).toHaveLength(120);
    expect(shortReason('a\n  b')).toBe('a b');
    const out = sink(false);
    const wf = workflow('secretive', { secrets: ['input.token'] })
      .step('call', { retry: { attempts: 2, initialMs: 5 } })
      .build();
    const run = testEngine({
      agents: {
        call: async (input: { token: string }) => {
          throw new Error(`401 for bearer ${input.token}`);
        },
      },
    }).start(wf, { token: 'sk-very-secret' });
    const reporter = terminalReporter(run.progress$, { stream: out });
    await vi.advanceTimersByTimeAsync(100);
    await reporter.done;
    expect(out.text()).not.toContain('sk-very-secret');
    expect(out.text()).toContain('  ↻ call attempt 1 failed (401 for bearer [redacted]); retrying in 5 ms');
  });

  it('terminal, not a TTY: a step that starts and ends within one throttle window still has its start line', async () => {
    const out = sink(false);
    const wf = workflow('quick').step('a').step('b').step('c').build();
    const run = testEngine({
      agents: { a: sleeper(() => 30), b: sleeper(() => 30), c: sleeper(() => 30) },
      progress: { throttleMs: 100 },
    }).start(wf, {});
    const reporter = terminalReporter(run.progress$, { stream: out });
    await vi.advanceTimersByTimeAsync(1_000);
    await reporter.done;
    const steps = out
      .text()
      .split('\n')
      .filter((l) => /^ {2}[▶✓]/.test(l))
      .map((l) => l.replace(/ \d+ ms$/, ''));
    expect(steps).toEqual(['  ▶ a', '  ✓ a', '  ▶ b', '  ✓ b', '  ▶ c', '  ✓ c']);
  });

  it('terminal, a TTY: a live frame with an overall bar and a bar per running step', async () => {
    const out = sink(true);
    const run = demoRun();
    const frames: string[] = [];
    run.progress$.subscribe((p) => frames.push(renderFrame(p, 10).join('\n')));
    const reporter = terminalReporter(run.progress$, { stream: out, barWidth: 10 });
    await vi.advanceTimersByTimeAsync(150);
    expect(plain(out.text())).toContain('▸ lint');
    await vi.advanceTimersByTimeAsync(1_000);
    await reporter.done;
    const text = plain(out.text());
    expect(text).toContain('demo  ░░░░░░░░░░   0%  0 ms  ETA');
    expect(text).toContain('✓ demo done in 400 ms: 3 steps done, 1 skipped');
    expect(frames.some((f) => /▸ scan {2}█+░+ {2}\d+ ms of ~1\.0 s/.test(f))).toBe(true);
    expect(frames.some((f) => f.includes('attempt 1 failed, retrying'))).toBe(true);
  });

  it('renders notes for escalations and waits, and counts failures', () => {
    const base: Progress = {
      workflowId: 'w',
      runId: 'r',
      status: 'waiting',
      at: 1_000,
      steps: [
        {
          path: 'ask',
          kind: 'step',
          status: 'running',
          phase: 'escalated',
          attempt: 2,
          startedAt: 0,
          expectedMs: 0,
        },
        {
          path: 'boss',
          kind: 'step',
          status: 'running',
          phase: 'supervising',
          attempt: 1,
          startedAt: 0,
          expectedMs: 500,
        },
        { path: 'approve', kind: 'wait', status: 'running', attempt: 1, startedAt: 500 },
      ],
      counts: { done: 0, running: 3, pending: 0, failed: 1, skipped: 2, cancelled: 0 },
      percent: 42,
      elapsedMs: 1_000,
      eta: { remainingMs: 61_000, finishAt: 62_000, low: 0, high: 7_200_000 },
    };
    const frame = renderFrame(base, 4).join('\n');
    expect(frame).toContain('ETA 1m 01s (0 ms to 2h 00m)');
    expect(frame).toContain('waiting for a decision');
    expect(frame).toContain('asking the supervisor');
    expect(frame).toContain('waiting for an event');
    expect(frame).toContain('1 failed · 2 skipped');
    expect(renderFrame({ ...base, status: 'failed' }, 4)[0]).toMatch(/failed$/);
  });

  it('stop() ends a reporter early; a failed or still-running stream gets its closing line', async () => {
    const source = new Subject<Progress>();
    const out = sink(false);
    const reporter = terminalReporter(source, { stream: out });
    const p: Progress = {
      workflowId: 'w',
      runId: 'r',
      status: 'running',
      at: 0,
      steps: [{ path: 'x', kind: 'step', status: 'cancelled', attempt: 1, startedAt: 0, endedAt: 5 }],
      counts: { done: 0, running: 0, pending: 0, failed: 0, skipped: 0, cancelled: 1 },
      percent: 0,
      elapsedMs: 5,
      eta: { remainingMs: 0, finishAt: 0, low: 0, high: 0 },
    };
    source.next(p);
    reporter.stop();
    await reporter.done;
    expect(out.text()).toContain('  ■ x cancelled\n');
    expect(out.text()).toContain('… w still running after 5 ms: 0 steps done\n');
    const failing = sink(false);
    const second = terminalReporter(source, { stream: failing });
    source.next({ ...p, status: 'failed', counts: { ...p.counts, failed: 1 } });
    source.error(new Error('upstream'));
    await second.done;
    expect(failing.text()).toContain('✗ w failed after 5 ms: 0 steps done, 1 failed');
  });

  it('a TTY reporter draws the latest frame once log-update is loaded, then its closing frame', async () => {
    vi.useRealTimers();
    const source = new Subject<Progress>();
    const out = sink(true);
    const reporter = terminalReporter(source, { stream: out, barWidth: 10 });
    const p: Progress = {
      workflowId: 'w',
      runId: 'r',
      status: 'running',
      at: 0,
      steps: [{ path: 'x', kind: 'step', status: 'running', attempt: 1, startedAt: 0, expectedMs: 100 }],
      counts: { done: 0, running: 1, pending: 1, failed: 0, skipped: 0, cancelled: 0 },
      percent: 10,
      elapsedMs: 0,
      eta: { remainingMs: 100, finishAt: 100, low: 100, high: 100 },
    };
    // Both frames come before log-update can have loaded: only the latest is drawn.
    source.next(p);
    source.next({ ...p, percent: 50 });
    expect(out.text()).toBe('');
    await vi.waitFor(() => expect(plain(out.text())).toContain(' 50%'));
    expect(plain(out.text())).not.toContain(' 10%');
    source.next({ ...p, percent: 60 });
    expect(plain(out.text())).toContain(' 60%');
    source.complete();
    await reporter.done;
    expect(plain(out.text())).toContain('… w still running after 0 ms: 0 steps done');
  });

  it('a TTY reporter that ends before log-update is loaded still draws its closing frame before `done`', async () => {
    vi.useRealTimers();
    const source = new Subject<Progress>();
    const out = sink(true);
    const reporter = terminalReporter(source, { stream: out, barWidth: 10 });
    source.next({
      workflowId: 'w',
      runId: 'r',
      status: 'done',
      at: 5,
      steps: [{ path: 'x', kind: 'step', status: 'done', attempt: 1, startedAt: 0, endedAt: 5 }],
      counts: { done: 1, running: 0, pending: 0, failed: 0, skipped: 0, cancelled: 0 },
      percent: 100,
      elapsedMs: 5,
      eta: { remainingMs: 0, finishAt: 5, low: 0, high: 0 },
    });
    reporter.stop();
    expect(out.text()).toBe('');
    await reporter.done;
    const text = plain(out.text());
    expect(text).toContain('w  ██████████ 100%  5 ms  done');
    expect(text).toContain('✓ w done in 5 ms: 1 step done');
    // One frame: the held one was replaced by the closing frame, not drawn first.
    expect(text.match(/100%/g)).toHaveLength(1);
  });

  it('formats durations for people', () => {
    expect([formatMs(0), formatMs(999.6), formatMs(12_345), formatMs(185_000), formatMs(7_800_000)]).toEqual([
      '0 ms',
      '1.0 s',
      '12.3 s',
      '3m 05s',
      '2h 10m',
    ]);
  });
});
