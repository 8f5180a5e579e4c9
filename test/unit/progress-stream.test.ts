import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type DurationHistory, memoryHistory, type Progress, workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';
import { collect, sleeper } from '../support/progress.js';

const fixed = (ms: number) => sleeper(() => ms);

/** Percent never decreases from one emission to the next. */
function expectMonotonic(emissions: readonly Progress[]) {
  emissions.forEach((p, i) => {
    if (i > 0) expect(p.percent, `emission ${i}`).toBeGreaterThanOrEqual(emissions[i - 1]?.percent ?? 0);
  });
}

describe('run.progress$', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('emits at once, lists started and pending steps, and completes with 100% when the run is done', async () => {
    const wf = workflow('basic').step('a', { expectedMs: 100 }).step('b', { expectedMs: 200 }).build();
    const run = testEngine({ agents: { a: fixed(100), b: fixed(200) } }).start(wf, {}, { id: 'r1' });
    const seen = collect(run);
    const first = seen.emissions[0] as Progress;
    expect(first).toMatchObject({
      workflowId: 'basic',
      runId: 'r1',
      status: 'running',
      percent: 0,
      elapsedMs: 0,
    });
    expect(first.steps.map((s) => [s.path, s.status, s.attempt])).toEqual([
      ['a', 'running', 1],
      ['b', 'pending', 0],
    ]);
    expect(first.counts).toMatchObject({ running: 1, pending: 1, done: 0 });
    expect(first.eta).toEqual({ remainingMs: 300, finishAt: 300, low: 150, high: 600 });
    await vi.advanceTimersByTimeAsync(300);
    await run.result;
    const last = seen.emissions.at(-1) as Progress;
    expect(seen.completed).toBe(true);
    expect(last).toMatchObject({ status: 'done', percent: 100, elapsedMs: 300, eta: { remainingMs: 0 } });
    expect(last.steps.map((s) => [s.path, s.status, s.startedAt, s.endedAt])).toEqual([
      ['a', 'done', 0, 100],
      ['b', 'done', 100, 300],
    ]);
    expectMonotonic(seen.emissions);
  });

  it('is created once per run, and a late subscriber gets the final state and completion', async () => {
    const wf = workflow('late').step('a').build();
    const run = testEngine({ agents: { a: fixed(10) } }).start(wf, {});
    expect(run.progress$).toBe(run.progress$);
    expect(run.events$).toBe(run.events$);
    await vi.advanceTimersByTimeAsync(10);
    await run.result;
    const seen = collect(run);
    expect(seen.emissions).toHaveLength(1);
    expect(seen.emissions[0]).toMatchObject({ status: 'done', percent: 100 });
    expect(seen.completed).toBe(true);
  });

  it('keeps percent monotonic across retries, though the ETA rises', async () => {
    const wf = workflow('retrying')
      .step('a')
      .step('flaky', { retry: { attempts: 3, initialMs: 100 } })
      .build();
    let calls = 0;
    const engine = testEngine({
      agents: {
        a: fixed(100),
        flaky: async () => {
          calls++;
          await new Promise((r) => setTimeout(r, 200));
          if (calls === 2 || calls === 3) throw new Error('flaky');
          return 'ok';
        },
      },
      progress: { throttleMs: 0 },
    });
    const learn = engine.start(wf, {});
    await vi.advanceTimersByTimeAsync(1_000);
    await learn.result;
    const run = engine.start(wf, {});
    const seen = collect(run);
    await vi.advanceTimersByTimeAsync(5_000);
    await run.result;
    const etas = seen.emissions.map((p) => p.eta.remainingMs);
    expect(etas.some((eta, i) => i > 0 && eta > (etas[i - 1] as number))).toBe(true);
    expectMonotonic(seen.emissions);
    const flaky = seen.emissions.at(-1)?.steps.find((s) => s.path === 'flaky');
    expect(flaky).toMatchObject({ status: 'done', attempt: 3 });
    expect(seen.emissions.some((p) => p.steps.some((s) => s.phase === 'backoff'))).toBe(true);
  });

  it('keeps percent monotonic when a slower branch arm than usual is taken, and drops the arms not taken', async () => {
    const wf = workflow('arms')
      .step('scan')
      .branch('b', [
        { when: 'input.slow', then: (x) => x.step('long') },
        { otherwise: (x) => x.step('short') },
      ])
      .build();
    const engine = testEngine({
      agents: { scan: fixed(100), long: fixed(1_000), short: fixed(50) },
      progress: { throttleMs: 0 },
    });
    const learn = engine.start(wf, { slow: false });
    await vi.advanceTimersByTimeAsync(1_000);
    await learn.result;
    const run = engine.start(wf, { slow: true });
    const seen = collect(run);
    expect(seen.emissions[0]?.steps.map((s) => s.path)).toEqual(['scan', 'long', 'short']);
    await vi.advanceTimersByTimeAsync(2_000);
    await run.result;
    expectMonotonic(seen.emissions);
    const decided = seen.emissions.find((p) =>
      p.steps.some((s) => s.path === 'long' && s.status === 'running'),
    );
    expect(decided?.steps.map((s) => s.path)).toEqual(['scan', 'long']);
    expect(decided?.eta.remainingMs).toBeGreaterThan(seen.emissions[0]?.eta.remainingMs ?? 0);
  });

  it('completes, without an error, on a failed run and on a cancelled run', async () => {
    const wf = workflow('fails').step('ok').step('bad').step('never').build();
    const engine = testEngine({
      agents: {
        ok: fixed(10),
        bad: async () => {
          throw new Error('nope');
        },
        never: fixed(10),
      },
    });
    const failed = collect(engine.start(wf, {}));
    await vi.advanceTimersByTimeAsync(100);
    expect(failed.completed).toBe(true);
    expect(failed.error).toBeUndefined();
    const last = failed.emissions.at(-1) as Progress;
    expect(last.status).toBe('failed');
    expect(last.steps.find((s) => s.path === 'bad')).toMatchObject({ status: 'failed' });
    expect(last.steps.find((s) => s.path === 'bad')?.error).toContain('nope');
    expect(last.percent).toBeLessThan(100);

    const slow = workflow('cancels').step('long').build();
    const run = testEngine({ agents: { long: fixed(10_000) } }).start(slow, {});
    const cancelled = collect(run);
    await vi.advanceTimersByTimeAsync(100);
    run.cancel('enough');
    await vi.advanceTimersByTimeAsync(0);
    expect(cancelled.completed).toBe(true);
    expect(cancelled.emissions.at(-1)).toMatchObject({ status: 'cancelled' });
    expect(cancelled.emissions.at(-1)?.steps[0]).toMatchObject({
      path: 'long',
      status: 'cancelled',
      endedAt: 200,
    });
  });

  it('never breaks on its own errors: a history that throws leaves the run and the stream to complete', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(line) });
    const broken: DurationHistory = {
      record: () => {
        throw new Error('disk full');
      },
      estimate: () => {
        throw new Error('disk full');
      },
      recordChoice: () => {},
      choices: () => undefined,
    };
    const wf = workflow('robust').step('a').step('b').build();
    const run = testEngine({ agents: { a: fixed(10), b: fixed(10) }, history: broken, logger }).start(wf, {});
    const seen = collect(run);
    await vi.advanceTimersByTimeAsync(100);
    await expect(run.result).resolves.toEqual({ a: 'ok', b: 'ok' });
    expect(seen.completed).toBe(true);
    expect(seen.error).toBeUndefined();
    expect(lines.some((l) => l.includes('progress skipped a snapshot'))).toBe(true);
  });

  it("is 'waiting' while a step waits for a decision or an event", async () => {
    const wf = workflow('waits')
      .step('ask', { escalate: { to: 'human', timeoutMs: 1_000 } })
      .waitFor('approve', { event: 'approve', timeoutMs: 1_000 })
      .build();
    const run = testEngine({
      agents: {
        ask: async () => {
          throw new Error('unsure');
        },
      },
    }).start(wf, {});
    const seen = collect(run);
    await vi.advanceTimersByTimeAsync(10);
    expect(seen.emissions.at(-1)).toMatchObject({ status: 'waiting' });
    run.resolveEscalation('ask', { action: 'skip', value: 'yes' });
    await vi.advanceTimersByTimeAsync(200);
    expect(seen.emissions.at(-1)?.status).toBe('waiting');
    expect(seen.emissions.at(-1)?.steps.at(-1)).toMatchObject({
      path: 'approve',
      kind: 'wait',
      status: 'running',
    });
    run.send({ type: 'approve' });
    await vi.advanceTimersByTimeAsync(200);
    expect(seen.emissions.at(-1)).toMatchObject({ status: 'done' });
  });

  it('records durations, branch arms and loop rounds into the engine history, per workflow id and path', async () => {
    const history = memoryHistory();
    const wf = workflow('learns')
      .map('m', { items: 'input.items', step: { agent: 'item' }, concurrency: 2 })
      .branch('b', [{ when: 'input.items', then: (x) => x.step('yes') }, { otherwise: (x) => x }])
      .loop('l', (x) => x.step('body'), { until: () => false, maxIterations: 2 })
      .build();
    const run = testEngine({ agents: { item: fixed(30), yes: fixed(20), body: fixed(10) }, history }).start(
      wf,
      {
        items: [1, 2, 3],
      },
    );
    await vi.advanceTimersByTimeAsync(1_000);
    await run.result;
    expect(history.estimate('learns', 'm[*]')).toMatchObject({ ms: 30, samples: 3 });
    expect(history.estimate('learns', 'm')).toMatchObject({ ms: 60, samples: 1 });
    expect(history.estimate('learns', 'yes')).toMatchObject({ ms: 20 });
    expect(history.estimate('learns', 'body')).toMatchObject({ ms: 10, samples: 2 });
    expect(history.choices('learns', 'b')).toEqual({ '0': 1 });
    expect(history.choices('learns', 'l')).toEqual({ '2': 1 });
  });

  it('follows a run in full from its first subscriber on, though nobody listened before', async () => {
    const wf = workflow('lateListener')
      .step('first')
      .step('flaky', { retry: { attempts: 2, initialMs: 100 } })
      .build();
    let calls = 0;
    const run = testEngine({
      agents: {
        first: fixed(10),
        flaky: async () => {
          await new Promise((r) => setTimeout(r, 20));
          if (++calls === 1) throw new Error('once');
          return 'ok';
        },
      },
      progress: { throttleMs: 0 },
    }).start(wf, {});
    await vi.advanceTimersByTimeAsync(50);
    const seen = collect(run);
    const events: string[] = [];
    run.events$.subscribe((e) => events.push(`${e.at} ${e.path} ${e.type}`));
    expect(seen.emissions[0]?.steps.map((s) => [s.path, s.status, s.phase])).toEqual([
      ['first', 'done', undefined],
      ['flaky', 'running', 'backoff'],
    ]);
    await vi.advanceTimersByTimeAsync(200);
    expect(seen.emissions.some((p) => p.steps.some((s) => s.path === 'flaky' && s.attempt === 2))).toBe(true);
    expect(events).toEqual(['0 first started', '10 first done', '10 flaky started', '150 flaky done']);
  });

  it('emits on a tick while a long step runs, when asked', async () => {
    const { trackProgress } = await import('../../src/index.js');
    const wf = workflow('ticks').step('long', { expectedMs: 1_000 }).build();
    const run = testEngine({ agents: { long: fixed(1_000) } }).start(wf, {});
    const at: number[] = [];
    trackProgress(run.actor, { tickMs: 250 }).subscribe((p) => at.push(p.at));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(at.slice(0, 4)).toEqual([0, 250, 500, 750]);
    expect(at.at(-1)).toBe(1_000);
  });
});
