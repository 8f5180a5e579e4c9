import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor } from 'xstate';
import { memoryHistory, trackProgress, workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';
import { collect, sleeper } from '../support/progress.js';

beforeEach(() => vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'Date'] }));
afterEach(() => vi.useRealTimers());

const child = workflow('learnChild').step('inner').build();
const everyKind = workflow('learnAll')
  .step('fetch')
  .branch('triage', [
    { when: 'results.fetch.big', then: (b) => b.step('deep') },
    { otherwise: (b) => b.step('skim') },
  ])
  .loop('polish', (b) => b.step('tune'), { until: (ctx) => Number(ctx.results.tune) >= 2, maxIterations: 5 })
  .map('check', { items: () => [1, 2, 3], step: { agent: 'item' }, concurrency: 2 })
  .waitFor('approve', { event: 'approve', timeoutMs: 10_000 })
  .step('sub', { workflow: child })
  .build();

function agents() {
  let rounds = 0;
  return {
    fetch: sleeper(
      () => 100,
      () => ({ big: true }),
    ),
    deep: sleeper(() => 200),
    skim: sleeper(() => 10),
    tune: sleeper(
      () => 50,
      () => ++rounds,
    ),
    item: sleeper(() => 30),
    inner: sleeper(() => 40),
  };
}

describe('learning without a watch', () => {
  it('learns every duration and decision of a run nobody subscribes to', async () => {
    const history = memoryHistory();
    const engine = testEngine({ agents: agents(), history });
    const run = engine.start(everyKind, {});
    await vi.advanceTimersByTimeAsync(1_000);
    expect(run.send({ type: 'approve' })).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(run.result).resolves.toMatchObject({ sub: { inner: 'ok' } });
    const ms = (path: string) => history.estimate('learnAll', path)?.ms;
    expect([ms('fetch'), ms('deep'), ms('tune'), ms('check[*]'), ms('sub/inner')]).toEqual([
      100, 200, 50, 30, 40,
    ]);
    // Three items, two at a time: 60 ms. The wait began when the map ended (100 + 200 + 2 x 50 + 60 = 460).
    expect(ms('check')).toBe(60);
    expect(ms('approve')).toBe(1_000 - 460);
    expect(ms('sub')).toBe(40);
    expect(history.choices('learnAll', 'triage')).toEqual({ '0': 1 });
    expect(history.choices('learnAll', 'polish')).toEqual({ '2': 1 });
  });

  it('lists, for a first subscriber that comes late, the steps that ended before with their times', async () => {
    const engine = testEngine({ agents: agents(), progress: { throttleMs: 0 } });
    const run = engine.start(everyKind, {});
    await vi.advanceTimersByTimeAsync(1_000);
    run.send({ type: 'approve' });
    await vi.advanceTimersByTimeAsync(10);
    const seen = collect(run);
    const first = seen.emissions[0];
    const listed = (path: string) => first?.steps.find((s) => s.path === path);
    expect(listed('fetch')).toMatchObject({ status: 'done', startedAt: 0, endedAt: 100, kind: 'step' });
    expect(listed('check[2]')).toMatchObject({ status: 'done', kind: 'item' });
    expect(listed('approve')).toMatchObject({ status: 'done', kind: 'wait', startedAt: 460, endedAt: 1_000 });
    // fetch, deep, tune (its last round), three items, approve; sub runs now.
    expect(first?.counts.done).toBe(7);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(seen.emissions.at(-1)?.status).toBe('done');
  });

  it('teaches nothing from a machine embedded outside the engine, and does not break it', async () => {
    const history = memoryHistory();
    const engine = testEngine({ agents: agents(), history });
    const simple = workflow('embeddedLearn').step('fetch').build();
    const actor = createActor(engine.machineFor(simple), { input: { input: {} } });
    actor.start();
    await vi.advanceTimersByTimeAsync(200);
    expect(actor.getSnapshot().status).toBe('done');
    expect(history.estimate('embeddedLearn', 'fetch')).toBeUndefined();
  });
});

describe('the watch of an engine run, on demand', () => {
  const pair = workflow('onDemand').step('fetch').step('deep').build();

  it('lists every step to a first subscriber that comes after the end', async () => {
    const run = testEngine({ agents: agents() }).start(pair, {});
    await vi.advanceTimersByTimeAsync(1_000);
    await run.result;
    const seen = collect(run);
    expect(seen.completed).toBe(true);
    expect(seen.emissions.at(-1)?.steps.map((s) => [s.path, s.status, s.startedAt, s.endedAt])).toEqual([
      ['fetch', 'done', 0, 100],
      ['deep', 'done', 100, 300],
    ]);
  });

  it('lists retries, usage and failures of steps that ended unwatched, to each late subscriber alike', async () => {
    let calls = 0;
    const usage = { inputTokens: 3, outputTokens: 4, totalTokens: 7 };
    const wf = workflow('unwatchedEnds')
      .step('flaky', { retry: { attempts: 3, backoff: 'fixed', initialMs: 10, jitter: 0 } })
      .step('broken', { onError: 'skip' })
      .build();
    const run = testEngine({
      agents: {
        flaky: sleeper(
          () => 20,
          (ctx) => {
            ctx.report?.({ usage });
            if (++calls < 2) throw new Error('once');
            return 'ok';
          },
        ),
        broken: async () => {
          throw new Error('always');
        },
      },
    }).start(wf, {});
    await vi.advanceTimersByTimeAsync(1_000);
    await run.result;
    const views = () =>
      collect(run)
        .emissions.at(-1)
        ?.steps.map((s) => [s.path, s.status, s.attempt, s.startedAt, s.endedAt, s.usage, s.error]);
    const first = views();
    expect(first).toEqual([
      ['flaky', 'done', 2, 0, 50, { inputTokens: 6, outputTokens: 8, totalTokens: 14 }, undefined],
      ['broken', 'skipped', 1, 50, 50, undefined, "Step 'broken' failed after 1 attempt: always"],
    ]);
    // A second watch lists the same, unchanged by the first.
    expect(views()).toEqual(first);
  });

  it("gives trackProgress(run.actor) the engine's watch, with its learned durations", async () => {
    const engine = testEngine({ agents: agents(), progress: { throttleMs: 0 } });
    const first = engine.start(pair, {});
    await vi.advanceTimersByTimeAsync(1_000);
    await first.result;
    const second = engine.start(pair, {});
    const emissions: number[] = [];
    trackProgress(second.actor).subscribe((p) => emissions.push(p.eta.remainingMs));
    await vi.advanceTimersByTimeAsync(0);
    // Learned: 100 + 200 ms (without history it would be the 1 s default per step).
    expect(emissions[0]).toBe(300);
  });

  it("gives each engine's runs of one definition that engine's watch", async () => {
    const taught = memoryHistory();
    for (let i = 0; i < 3; i++) {
      taught.record('onDemand', 'fetch', 7);
      taught.record('onDemand', 'deep', 11);
    }
    const learned = testEngine({ agents: agents(), progress: { throttleMs: 0 } });
    await vi.advanceTimersByTimeAsync(0);
    const first = learned.start(pair, {});
    await vi.advanceTimersByTimeAsync(1_000);
    await first.result;
    const other = testEngine({ agents: agents(), history: taught, progress: { throttleMs: 0 } });
    const runs = [learned.start(pair, {}), other.start(pair, {})];
    const etas = runs.map((run) => {
      const seen: number[] = [];
      trackProgress(run.actor).subscribe((p) => seen.push(p.eta.remainingMs));
      return seen;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(etas.map((seen) => seen[0])).toEqual([300, 18]);
  });

  it("gives an actor made from an engine's machine the caller's options, even under a live run's id", async () => {
    const taught = memoryHistory();
    taught.record('onDemand', 'fetch', 7);
    taught.record('onDemand', 'deep', 11);
    const engine = testEngine({ agents: agents(), progress: { throttleMs: 0 } });
    const run = engine.start(pair, {}, { id: 'shared' });
    const own = createActor(engine.machineFor(pair), { input: { workflowId: 'shared', input: {} } });
    const seen = { own: [] as number[], run: [] as number[] };
    trackProgress(own, { history: taught }).subscribe((p) => seen.own.push(p.eta.remainingMs));
    trackProgress(run.actor, { history: taught }).subscribe((p) => seen.run.push(p.eta.remainingMs));
    own.start();
    await vi.advanceTimersByTimeAsync(0);
    // The caller's history for its own actor; the engine's (nothing learned: 1 s a step) for the engine's run.
    expect([seen.own[0], seen.run[0]]).toEqual([18, 2_000]);
    await vi.advanceTimersByTimeAsync(1_000);
    await run.result;
    expect(own.getSnapshot().status).toBe('done');
  });
});
