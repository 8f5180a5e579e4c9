import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Progress } from '../../src/index.js';
import { terminalReporter } from '../../src/progress/reporters/terminal.js';
import { plain, sink } from '../support/progress.js';

const progress = (over: Partial<Progress> = {}): Progress => ({
  workflowId: 'w',
  runId: 'r',
  status: 'running',
  at: 1_000,
  steps: [{ path: 'load', kind: 'step', status: 'running', attempt: 1, startedAt: 0, expectedMs: 4_000 }],
  counts: { done: 0, running: 1, pending: 2, failed: 0, skipped: 0, cancelled: 0 },
  percent: 20,
  elapsedMs: 1_000,
  eta: { remainingMs: 4_000, finishAt: 5_000, low: 3_000, high: 6_000 },
  ...over,
});

describe('terminalReporter log() and steps: false', () => {
  it('plain: your lines among the percent lines, and no step lines of its own', async () => {
    const source = new Subject<Progress>();
    const out = sink(false, { columns: 100, rows: 30 });
    const reporter = terminalReporter(source, { stream: out, steps: false });
    reporter.log('  ▶ load');
    source.next(progress());
    source.next(
      progress({ percent: 60, elapsedMs: 3_000, eta: { remainingMs: 2_000, finishAt: 0, low: 0, high: 0 } }),
    );
    reporter.log('  ✓ load 3.0 s');
    source.next(
      progress({
        status: 'done',
        percent: 100,
        steps: [],
        counts: { ...progress().counts, done: 1, running: 0, pending: 0 },
      }),
    );
    source.complete();
    await reporter.done;
    expect(out.text().trimEnd().split('\n')).toEqual([
      '  ▶ load',
      '[ 20%] 0 done, 1 running, 2 pending; ETA 4.0 s',
      '[ 60%] 0 done, 1 running, 2 pending; ETA 2.0 s',
      '  ✓ load 3.0 s',
      '✓ w done in 1.0 s: 1 step done',
    ]);
  });

  it('TTY: your lines stay above the live frame, which is drawn again below them with the ETA as it moves', async () => {
    const source = new Subject<Progress>();
    const out = sink(true, { columns: 100, rows: 30 });
    const reporter = terminalReporter(source, { stream: out, barWidth: 10 });
    // Before log-update is loaded: held, then written in order.
    reporter.log('first line');
    source.next(progress());
    await import('log-update');
    await new Promise((r) => setTimeout(r, 20));
    reporter.log('second line');
    source.next(
      progress({ percent: 50, elapsedMs: 2_000, eta: { remainingMs: 2_000, finishAt: 0, low: 0, high: 0 } }),
    );
    source.complete();
    await reporter.done;
    const text = plain(out.text());
    expect(text.indexOf('first line')).toBeLessThan(text.indexOf('ETA 4.0 s'));
    expect(text.indexOf('ETA 4.0 s')).toBeLessThan(text.indexOf('second line'));
    // The frame is drawn again right after the line, before the next emission.
    expect(text.slice(text.indexOf('second line'))).toMatch(/second line\n[^\n]*ETA 4\.0 s/);
    expect(text).toContain('ETA 2.0 s');
    expect(text).toContain('▸ load');
  });
});
