import { Subject } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Progress, workflow } from '../../src/index.js';
import { throttleLatest } from '../../src/progress/throttle.js';
import { testEngine } from '../support/engine.js';
import { collect, sleeper } from '../support/progress.js';

describe('throttleLatest', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  /** A subject throttled to 100 ms, with `urgent` values starting with '!', and what came out when. */
  function setup(ms = 100) {
    const source = new Subject<string>();
    const out: string[] = [];
    let state = 'open';
    const subscription = source.pipe(throttleLatest(ms, { urgent: (v) => v.startsWith('!') })).subscribe({
      next: (v) => out.push(`${Date.now()} ${v}`),
      complete: () => (state = 'complete'),
      error: () => (state = 'error'),
    });
    return { source, out, state: () => state, subscription };
  }

  it('lets the first value through, then the latest of each window at its end', async () => {
    const { source, out } = setup();
    source.next('a');
    source.next('b');
    await vi.advanceTimersByTimeAsync(40);
    source.next('c');
    await vi.advanceTimersByTimeAsync(60);
    source.next('d');
    await vi.advanceTimersByTimeAsync(150);
    source.next('e');
    await vi.advanceTimersByTimeAsync(100);
    expect(out).toEqual(['0 a', '100 c', '200 d', '300 e']);
  });

  it('lets an urgent value through at once, replacing the one held', async () => {
    const { source, out } = setup();
    source.next('a');
    source.next('b');
    source.next('!fail');
    await vi.advanceTimersByTimeAsync(300);
    expect(out).toEqual(['0 a', '0 !fail']);
  });

  it('flushes the held value before completing, and before an error', async () => {
    const done = setup();
    done.source.next('a');
    done.source.next('last');
    done.source.complete();
    expect(done.out).toEqual(['0 a', '0 last']);
    expect(done.state()).toBe('complete');
    const failed = setup();
    failed.source.next('a');
    failed.source.next('held');
    failed.source.error(new Error('x'));
    expect(failed.out).toEqual(['0 a', '0 held']);
    expect(failed.state()).toBe('error');
  });

  it('passes everything with ms <= 0, and stops its timer when unsubscribed', async () => {
    const open = setup(0);
    open.source.next('a');
    open.source.next('b');
    expect(open.out).toEqual(['0 a', '0 b']);
    const closed = setup();
    closed.source.next('a');
    closed.source.next('b');
    closed.subscription.unsubscribe();
    await vi.advanceTimersByTimeAsync(200);
    expect(closed.out).toEqual(['0 a']);
  });
});

describe('run.progress$ throttling', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('emits at most once per window, yet never drops a failure or the final state', async () => {
    const wf = workflow('busy')
      .map('m', { items: 'input.items', step: { agent: 'quick' }, concurrency: 4 })
      .step('bad', { onError: 'skip' })
      .step('end')
      .build();
    const run = testEngine({
      agents: {
        quick: sleeper(() => 7),
        bad: async () => {
          await new Promise((r) => setTimeout(r, 5));
          throw new Error('bad');
        },
        end: sleeper(() => 3),
      },
      progress: { throttleMs: 100 },
    }).start(wf, { items: Array.from({ length: 40 }, (_, i) => i) });
    const seen = collect(run);
    await vi.advanceTimersByTimeAsync(1_000);
    await run.result;
    const at = seen.emissions.map((p) => p.at);
    const urgent = (p: Progress) =>
      p.status !== 'running' || p.steps.some((s) => s.status === 'failed' && s.endedAt === p.at);
    // Between two emissions that are not urgent, at least a window.
    const regular = seen.emissions.filter((p) => !urgent(p)).map((p) => p.at);
    regular.forEach((t, i) => {
      if (i > 0) expect(t - (regular[i - 1] as number)).toBeGreaterThanOrEqual(100);
    });
    expect(at.length).toBeLessThan(10);
    // The failure of `bad` was shown when it happened (at 75 ms), not at the end of a window.
    const failure = seen.emissions.find((p) =>
      p.steps.some((s) => s.path === 'bad' && s.status === 'failed'),
    );
    expect(failure?.at).toBe(75);
    expect(seen.emissions.at(-1)).toMatchObject({ status: 'done', percent: 100 });
    expect(seen.completed).toBe(true);
  });
});
