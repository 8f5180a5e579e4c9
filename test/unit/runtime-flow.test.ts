import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StepFailedError, workflow } from '../../src/index.js';
import { deferred, testEngine } from '../support/engine.js';

/** An agent that resolves `value` after `ms` of fake time, recording start and end times under `name`. */
function timed(log: string[], name: string, ms: number, value: unknown = name) {
  return async () => {
    log.push(`start ${name}@${Date.now()}`);
    await new Promise((r) => setTimeout(r, ms));
    log.push(`end ${name}@${Date.now()}`);
    return value;
  };
}

describe('parallel regions', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('runs regions at once and joins when every region is done', async () => {
    const log: string[] = [];
    const wf = workflow('par')
      .parallel('analyze', {
        tables: (r) => r.step('tableStats'),
        indexes: (r) => r.step('indexUsage').step('unusedIndexes'),
      })
      .step('report')
      .build();
    const run = testEngine({
      agents: {
        tableStats: timed(log, 'tableStats', 300),
        indexUsage: timed(log, 'indexUsage', 100),
        unusedIndexes: timed(log, 'unusedIndexes', 100),
        report: timed(log, 'report', 10),
      },
    }).start(wf, {});
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(run.result).resolves.toEqual({
      tableStats: 'tableStats',
      indexUsage: 'indexUsage',
      unusedIndexes: 'unusedIndexes',
      report: 'report',
    });
    expect(log).toEqual([
      'start tableStats@0',
      'start indexUsage@0',
      'end indexUsage@100',
      'start unusedIndexes@100',
      'end unusedIndexes@200',
      'end tableStats@300',
      'start report@300',
      'end report@310',
    ]);
  });

  it('fails fast: one failing region stops the others and aborts their agents', async () => {
    let slowSignal: AbortSignal | undefined;
    const wf = workflow('par-ff')
      .parallel('p', { a: (r) => r.step('slow'), b: (r) => r.step('bad') })
      .build();
    const run = testEngine({
      agents: {
        slow: (_i: unknown, ctx: { signal: AbortSignal }) => {
          slowSignal = ctx.signal;
          return new Promise(() => {});
        },
        bad: async () => {
          throw new Error('bad region');
        },
      },
    }).start(wf, {});
    await expect(run.result).rejects.toMatchObject({ code: 'STEP_FAILED', stepPath: 'bad' });
    expect(slowSignal?.aborted).toBe(true);
  });

  it('with failFast: false, lets every region finish, then fails with the first failure', async () => {
    const log: string[] = [];
    const wf = workflow('par-all')
      .parallel('p', { a: (r) => r.step('slow'), b: (r) => r.step('bad') }, { failFast: false })
      .step('never')
      .build();
    const never = vi.fn();
    const run = testEngine({
      agents: {
        slow: timed(log, 'slow', 500),
        bad: async () => {
          throw new Error('bad region');
        },
        never,
      },
    }).start(wf, {});
    await vi.advanceTimersByTimeAsync(500);
    await expect(run.result).rejects.toMatchObject({ stepPath: 'bad' });
    expect(log).toEqual(['start slow@0', 'end slow@500']);
    expect(never).not.toHaveBeenCalled();
  });
});

describe('branches', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  const triage = () =>
    workflow('triage')
      .step('scan')
      .branch('decide', [
        { when: 'hasCritical', then: (b) => b.step('review') },
        {
          when: (ctx) => (ctx.results.scan as { warnings: number }).warnings > 0,
          then: (b) => b.step('warn'),
        },
        { otherwise: (b) => b.step('report') },
      ])
      .build();

  it.each([
    [{ critical: true, warnings: 0 }, 'review'],
    [{ critical: false, warnings: 2 }, 'warn'],
    [{ critical: false, warnings: 0 }, 'report'],
  ])('takes the first arm whose guard holds (%j -> %s)', async (scan, expected) => {
    const engine = testEngine({
      agents: { scan: () => scan, review: () => 'r', warn: () => 'w', report: () => 'p' },
      guards: { hasCritical: (ctx) => (ctx.results.scan as { critical: boolean }).critical },
    });
    const output = (await engine.start(triage(), {}).result) as Record<string, unknown>;
    expect(Object.keys(output)).toEqual(['scan', expected]);
  });

  it('passes through an empty otherwise arm, and tests data-path guards for truthiness', async () => {
    const wf = workflow('optional')
      .step('check')
      .branch('maybe', [
        { when: 'results.check.needed', then: (b) => b.step('extra') },
        { otherwise: (b) => b },
      ])
      .step('end')
      .build();
    const engine = testEngine({
      agents: { check: (i: { needed: boolean }) => i, extra: () => 'x', end: () => 'e' },
    });
    await expect(engine.start(wf, { needed: false }).result).resolves.toEqual({
      check: { needed: false },
      end: 'e',
    });
    await expect(engine.start(wf, { needed: true }).result).resolves.toEqual({
      check: { needed: true },
      extra: 'x',
      end: 'e',
    });
  });
});

describe('map', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('runs one step per item, never more than `concurrency` at once, results in item order', async () => {
    let running = 0;
    let peak = 0;
    const wf = workflow('fan')
      .map('square', { items: 'input.numbers', step: { agent: 'square' }, concurrency: 3 })
      .build();
    const run = testEngine({
      agents: {
        square: async (n: number) => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 100 + ((n * 37) % 5) * 20));
          running--;
          return n * n;
        },
      },
    }).start(wf, { numbers: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
    await vi.advanceTimersByTimeAsync(5_000);
    await expect(run.result).resolves.toEqual({ square: [1, 4, 9, 16, 25, 36, 49, 64, 81, 100] });
    expect(peak).toBe(3);
    expect(Object.keys(run.actor.getSnapshot().children)).toEqual([]);
  });

  it('maps each item through `input` and gives each its own step path', async () => {
    const paths: string[] = [];
    const wf = workflow('fan-input')
      .map('m', {
        items: (ctx) => (ctx.input as { xs: string[] }).xs,
        step: { agent: 'echo', input: (ctx) => ({ item: ctx.item, index: ctx.index }) },
        concurrency: 2,
      })
      .build();
    const run = testEngine({
      agents: {
        echo: (input: unknown, ctx: { step: string }) => {
          paths.push(ctx.step);
          return input;
        },
      },
    }).start(wf, { xs: ['a', 'b'] });
    await expect(run.result).resolves.toEqual({
      m: [
        { item: 'a', index: 0 },
        { item: 'b', index: 1 },
      ],
    });
    expect(paths.sort()).toEqual(['m[0]', 'm[1]']);
  });

  it('finishes at once on an empty list, fails on a list that is not an array', async () => {
    const wf = workflow('fan-empty')
      .map('m', { items: 'input.xs', step: { agent: 'a' }, concurrency: 2 })
      .build();
    const engine = testEngine({ agents: { a: () => 1 } });
    await expect(engine.start(wf, { xs: [] }).result).resolves.toEqual({ m: [] });
    await expect(engine.start(wf, { xs: 'nope' }).result).rejects.toMatchObject({
      code: 'STEP_FAILED',
      stepPath: 'm',
    });
  });

  it('fails the map on an item failure and stops the running items; skips them with onError: skip', async () => {
    const signals: AbortSignal[] = [];
    const agent = async (n: number, ctx: { signal: AbortSignal }) => {
      signals.push(ctx.signal);
      if (n === 2) throw new Error('two');
      await new Promise((r) => setTimeout(r, 100));
      return n;
    };
    const failing = workflow('fan-fail')
      .map('m', { items: 'input', step: { agent: 'a' }, concurrency: 3 })
      .build();
    const skipping = workflow('fan-skip')
      .map('m', { items: 'input', step: { agent: 'a', onError: 'skip' }, concurrency: 3 })
      .build();
    const engine = testEngine({ agents: { a: agent } });
    const failed = engine.start(failing, [1, 2, 3]);
    await expect(failed.result).rejects.toMatchObject({ stepPath: 'm[1]' });
    expect(signals.filter((s) => s.aborted).length).toBe(2);
    const skipped = engine.start(skipping, [1, 2, 3]);
    await vi.advanceTimersByTimeAsync(200);
    await expect(skipped.result).resolves.toEqual({ m: [1, null, 3] });
  });
});

describe('loops', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('repeats the body until its guard holds (generate, critique, revise)', async () => {
    let drafts = 0;
    const wf = workflow('refine')
      .loop('improve', (b) => b.step('draft').step('critique', { input: 'results.draft' }), {
        until: 'results.critique.ok',
        maxIterations: 5,
      })
      .build();
    const run = testEngine({
      agents: { draft: () => ++drafts, critique: (draft: number) => ({ ok: draft >= 3 }) },
    }).start(wf, {});
    await expect(run.result).resolves.toEqual({ draft: 3, critique: { ok: true } });
    expect(drafts).toBe(3);
  });

  it('stops at maxIterations, and fails there when onMaxIterations is fail', async () => {
    const make = (onMaxIterations: 'continue' | 'fail') =>
      workflow(`bounded-${onMaxIterations}`)
        .loop('l', (b) => b.step('draft'), { until: () => false, maxIterations: 4, onMaxIterations })
        .build();
    const draft = vi.fn(() => 'd');
    const engine = testEngine({ agents: { draft } });
    await expect(engine.start(make('continue'), {}).result).resolves.toEqual({ draft: 'd' });
    expect(draft).toHaveBeenCalledTimes(4);
    const error = await engine.start(make('fail'), {}).result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StepFailedError);
    expect((error as Error).message).toContain('maxIterations (4)');
  });
});

describe('cancellation', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('aborts every running agent and ends the run cancelled', async () => {
    const signals: AbortSignal[] = [];
    const hang = (_i: unknown, ctx: { signal: AbortSignal }) => {
      signals.push(ctx.signal);
      return new Promise(() => {});
    };
    const wf = workflow('cancel')
      .parallel('p', {
        a: (r) => r.step('x'),
        b: (r) => r.map('m', { items: 'input', step: { agent: 'y' }, concurrency: 2 }),
      })
      .build();
    const run = testEngine({ agents: { x: hang, y: hang } }).start(wf, [1, 2, 3]);
    await vi.advanceTimersByTimeAsync(0);
    expect(signals).toHaveLength(3);
    run.cancel('user asked');
    await expect(run.result).rejects.toMatchObject({
      code: 'CANCELLED',
      message: expect.stringContaining('user asked'),
    });
    expect(signals.every((s) => s.aborted)).toBe(true);
    expect(signals[0]?.reason).toMatchObject({ code: 'CANCELLED' });
    expect(run.status).toBe('cancelled');
    run.cancel();
  });

  it('a late agent result after cancel changes nothing', async () => {
    const d = deferred<string>();
    const wf = workflow('cancel-late').step('a').build();
    const run = testEngine({ agents: { a: () => d.promise } }).start(wf, {});
    run.cancel();
    d.resolve('late');
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(run.status).toBe('cancelled');
  });
});
