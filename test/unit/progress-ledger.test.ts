import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AgentContext, type Progress, workflow } from '../../src/index.js';
import type { StepSnapshot } from '../../src/machine/step-types.js';
import { StepLedger } from '../../src/progress/seed.js';
import type { StepView } from '../../src/progress/views.js';
import { testEngine } from '../support/engine.js';

// An unwatched run keeps its ended steps packed (progress/seed.ts); a watch that comes later must list them exactly as
// a watch from the start would have. The clock starts at a real date: absolute times are far from the packed offsets.
const T0 = Date.UTC(2026, 11, 3, 12, 0, 0);

describe('a watch set up after steps ended', () => {
  beforeEach(() => vi.useFakeTimers({ now: T0 }));
  afterEach(() => vi.useRealTimers());

  it('lists them with their status, attempts, agent, times and usage', async () => {
    let flakyCalls = 0;
    let release: (value: string) => void = () => {};
    const wf = workflow('ledger')
      .step('flaky', { retry: { attempts: 3, initialMs: 100, jitter: 0 } })
      .step('llm', {})
      .waitFor('approve', { event: 'approve', timeoutMs: 60_000 })
      .step('held', {})
      .build();
    const agents = {
      flaky: async () => {
        flakyCalls++;
        await new Promise((r) => setTimeout(r, 10));
        if (flakyCalls === 1) throw new Error('once');
        return 'f';
      },
      llm: async (_input: unknown, ctx: AgentContext) => {
        await new Promise((r) => setTimeout(r, 20));
        ctx.report?.({ usage: { inputTokens: 2, outputTokens: 3, totalTokens: 5 } });
        return 'l';
      },
      held: () => new Promise<string>((resolve) => (release = resolve)),
    };
    const run = testEngine({ agents }).start(wf, {});
    await vi.advanceTimersByTimeAsync(1_000);
    run.send({ type: 'approve' });
    await vi.advanceTimersByTimeAsync(500);
    let seen: Progress | undefined;
    const sub = run.progress$.subscribe((p) => (seen = p));
    const steps = Object.fromEntries((seen?.steps ?? []).map((s) => [s.path, s]));
    // flaky: attempt 1 ran 0-10, its retry waited 100 ms, attempt 2 ran 110-120.
    expect(steps.flaky).toMatchObject({
      status: 'done',
      attempt: 2,
      agent: 'flaky',
      startedAt: T0,
      endedAt: T0 + 120,
    });
    expect(steps.llm).toMatchObject({
      status: 'done',
      attempt: 1,
      startedAt: T0 + 120,
      endedAt: T0 + 140,
      usage: { inputTokens: 2, outputTokens: 3, totalTokens: 5 },
    });
    expect(steps.approve).toMatchObject({
      kind: 'wait',
      status: 'done',
      startedAt: T0 + 140,
      endedAt: T0 + 1_000,
    });
    expect(steps.held).toMatchObject({ status: 'running', startedAt: T0 + 1_000 });
    release('h');
    await run.result;
    sub.unsubscribe();
    // And a watch of the ended run lists them all again, as new views.
    let after: Progress | undefined;
    run.progress$.subscribe((p) => (after = p)).unsubscribe();
    expect(after?.steps.map((s) => `${s.path}:${s.status}:${s.attempt}`)).toEqual([
      'flaky:done:2',
      'llm:done:1',
      'approve:done:1',
      'held:done:1',
    ]);
  });
});

describe('StepLedger', () => {
  const snapshot = (
    path: string,
    startedAt: number | undefined,
    endedAt: number,
    status: 'done' | 'error' = 'done',
  ) =>
    ({
      status,
      input: { path },
      agent: 'a',
      attempts: 1,
      phase: status === 'done' ? 'done' : 'failed',
      startedAt,
      history: [{ startedAt: startedAt ?? endedAt - 1, endedAt }],
      error: { name: 'Error', message: 'boom' },
    }) as unknown as StepSnapshot;
  const DAY = 86_400_000;
  const row = (v: StepView) => [v.path, v.status, v.startedAt, v.attemptStartedAt, v.endedAt, v.error];

  it('gives back times of any size, before or after the first, and failures, in their order', () => {
    const ledger = new StepLedger();
    ledger.step(snapshot('first', T0, T0 + 10), T0 + 10);
    // A region that started before the first step packed, one that ended weeks later (offsets past 2^30 ms).
    ledger.step(snapshot('early', T0 - 5_000, T0 + 11), T0 + 11);
    ledger.step(snapshot('broken', T0 + 2, T0 + 12, 'error'), T0 + 12);
    ledger.step(snapshot('weeks', T0 + 40 * DAY, T0 + 41 * DAY), T0 + 41 * DAY);
    const views = ledger.views();
    expect(views.map(row)).toEqual([
      ['first', 'done', T0, T0, T0 + 10, undefined],
      ['early', 'done', T0 - 5_000, T0 - 5_000, T0 + 11, undefined],
      ['broken', 'failed', T0 + 2, T0 + 2, T0 + 12, 'boom'],
      ['weeks', 'done', T0 + 40 * DAY, T0 + 40 * DAY, T0 + 41 * DAY, undefined],
    ]);
    // New views each time: a watch changes the views it is given.
    const [first, , broken] = views;
    if (first) first.status = 'failed';
    expect(ledger.views()[0]?.status).toBe('done');
    expect(ledger.views()[2]).not.toBe(broken);
  });

  it('keeps exactly times it cannot pack: a step without a start, fractions of a millisecond', () => {
    const ledger = new StepLedger();
    // A snapshot a migration left without `startedAt` comes first: it must not spoil the steps after it.
    ledger.step(snapshot('unstarted', undefined, T0 + 2), T0 + 2);
    ledger.step(snapshot('whole', T0 + 10, T0 + 20), T0 + 20);
    ledger.step(snapshot('fraction', 827.3713803541241, 9560.94370197984), 9560.94370197984);
    expect(ledger.views().map(row)).toEqual([
      ['unstarted', 'done', undefined, T0 + 1, T0 + 2, undefined],
      ['whole', 'done', T0 + 10, T0 + 10, T0 + 20, undefined],
      ['fraction', 'done', 827.3713803541241, 827.3713803541241, 9560.94370197984, undefined],
    ]);
  });
});
