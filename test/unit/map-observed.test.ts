import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { progressLines } from '../../src/cli/lines.js';
import { workflow } from '../../src/index.js';
import { runObserver } from '../../src/observability/run-observer.js';
import { testEngine } from '../support/engine.js';

/** Map items are hosted in the map actor, with no inspection events of their own: every observer still sees them. */
describe('map items as observers see them', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('reports each item’s attempts to inspection observers (metrics, tracing)', async () => {
    const ended: string[] = [];
    const { inspect } = runObserver({ attemptEnded: (a) => ended.push(`${a.path}#${a.record.attempt}`) });
    const wf = workflow('fan-observed')
      .map('m', { items: 'input', step: { agent: 'a', retry: { attempts: 2, initialMs: 10 } } })
      .build();
    let failed = false;
    const run = testEngine({
      inspect,
      agents: {
        a: (n: number) => {
          if (n === 1 && !failed) {
            failed = true;
            throw new Error('once');
          }
          return n;
        },
      },
    }).start(wf, [0, 1, 2]);
    await vi.advanceTimersByTimeAsync(100);
    await expect(run.result).resolves.toEqual({ m: [0, 1, 2] });
    expect(ended.sort()).toEqual(['m[0]#1', 'm[1]#1', 'm[1]#2', 'm[2]#1']);
  });

  it('prints a line per item start and end in the CLI’s progress lines', async () => {
    const written: string[] = [];
    const wf = workflow('fan-lines')
      .map('m', { items: 'input', step: { agent: 'a' }, concurrency: 2 })
      .build();
    const lines = progressLines({ definition: wf, write: (l) => written.push(l.trim()) });
    const run = testEngine({ inspect: lines.inspect, agents: { a: (n: number) => n } }).start(wf, [0, 1, 2]);
    await expect(run.result).resolves.toEqual({ m: [0, 1, 2] });
    expect(written.filter((l) => l.startsWith('▶')).sort()).toEqual(['▶ m[0]', '▶ m[1]', '▶ m[2]']);
    expect(written.filter((l) => l.startsWith('✓'))).toHaveLength(3);
    expect(lines.stats().stepsDone).toBe(3);
  });

  it('lists skipped items in the run, and in its progress as skipped', async () => {
    const wf = workflow('fan-skip-list')
      .map('m', { items: 'input', step: { agent: 'a', onError: 'skip' }, concurrency: 2 })
      .build();
    const run = testEngine({
      agents: {
        a: (n: number) => {
          if (n % 2 === 1) throw new Error('odd');
          return n;
        },
      },
    }).start(wf, [0, 1, 2, 3]);
    const steps = new Map<string, string>();
    run.progress$.subscribe((p) => {
      for (const s of p.steps) steps.set(s.path, s.status);
    });
    await expect(run.result).resolves.toEqual({ m: [0, null, 2, null] });
    expect((run.actor.getSnapshot().context as { skipped: string[] }).skipped).toEqual(['m[1]', 'm[3]']);
    expect(Object.fromEntries(steps)).toMatchObject({
      'm[0]': 'done',
      'm[1]': 'skipped',
      'm[2]': 'done',
      'm[3]': 'skipped',
    });
  });

  it('a watch set up late lists the first 1,000 ended items of a run, not all: the run does not keep them all', async () => {
    const wf = workflow('fan-late-watch')
      .map('m', { items: 'input', step: { agent: 'a' }, concurrency: 50 })
      .build();
    const run = testEngine({ agents: { a: (n: number) => n } }).start(
      wf,
      Array.from({ length: 1_500 }, (_, i) => i),
    );
    await run.result;
    const steps = await new Promise<readonly { path: string; status: string }[]>((resolve) => {
      const subscription = run.progress$.subscribe((p) => {
        resolve(p.steps);
        queueMicrotask(() => subscription.unsubscribe());
      });
    });
    const items = steps.filter((s) => s.path.startsWith('m['));
    expect(items).toHaveLength(1_000);
    expect(items.every((s) => s.status === 'done')).toBe(true);
  });

  it('writes each item’s step events through the engine logger, a retry included', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'debug' }, { write: (l: string) => lines.push(JSON.parse(l)) });
    const wf = workflow('fan-logged')
      .map('m', {
        items: 'input',
        step: { agent: 'a', retry: { attempts: 2, initialMs: 10 } },
        concurrency: 2,
      })
      .build();
    let failed = false;
    const run = testEngine({
      logger,
      agents: {
        a: (n: number) => {
          if (n === 1 && !failed) {
            failed = true;
            throw new Error('once');
          }
          return n;
        },
      },
    }).start(wf, [0, 1]);
    await vi.advanceTimersByTimeAsync(100);
    await run.result;
    const events = lines.filter((l) => typeof l.event === 'string').map((l) => `${l.step} ${l.event}`);
    expect(events.filter((e) => e.startsWith('m[0]'))).toEqual(['m[0] started', 'm[0] done']);
    expect(events.filter((e) => e.startsWith('m[1]'))).toEqual([
      'm[1] started',
      'm[1] attempt-failed',
      'm[1] retry-scheduled',
      'm[1] done',
    ]);
  });
});
