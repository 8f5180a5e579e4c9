import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AgentJob, type AgentTransport, workflow } from '../../src/index.js';
import { deferred, testEngine } from '../support/engine.js';

/** Every function, symbol, Map, Set or cycle reachable from `value`, by path: what JSON would lose or choke on. */
function unclean(value: unknown, path = '$', seen = new Set<unknown>()): string[] {
  if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') return [path];
  if (typeof value !== 'object' || value === null) return [];
  if (seen.has(value)) return [`${path} (cycle)`];
  if (value instanceof Map || value instanceof Set) return [`${path} (${value.constructor.name})`];
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) return [`${path} (class)`];
  seen.add(value);
  const found = Object.entries(value).flatMap(([k, v]) => unclean(v, `${path}.${k}`, seen));
  seen.delete(value);
  return found;
}

describe('the map actor, attacked', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('fails with a typed error when its items are not an array', async () => {
    const wf = workflow('adv-not-array')
      .map('m', { items: 'input', step: { agent: 'a' } })
      .build();
    const run = testEngine({ agents: { a: (n: number) => n } }).start(wf, { not: 'a list' });
    await expect(run.result).rejects.toMatchObject({ code: 'STEP_FAILED', stepPath: 'm' });
  });

  it('skips every item when every item fails with onError skip; progress rises to 100', async () => {
    const wf = workflow('adv-skip-all')
      .map('m', { items: 'input', step: { agent: 'a', onError: 'skip' }, concurrency: 2 })
      .step('after', { agent: 'b' })
      .build();
    const run = testEngine({
      agents: {
        a: async () => {
          await new Promise((r) => setTimeout(r, 5));
          throw new Error('always');
        },
        b: () => 'after',
      },
    }).start(wf, [0, 1, 2, 3, 4]);
    const percents: number[] = [];
    run.progress$.subscribe((p) => percents.push(p.percent));
    await vi.advanceTimersByTimeAsync(100);
    await expect(run.result).resolves.toEqual({ m: [null, null, null, null, null], after: 'after' });
    expect((run.actor.getSnapshot().context as { skipped: string[] }).skipped).toEqual([
      'm[0]',
      'm[1]',
      'm[2]',
      'm[3]',
      'm[4]',
    ]);
    expect(percents.length).toBeGreaterThan(1);
    for (let i = 1; i < percents.length; i++)
      expect(percents[i]).toBeGreaterThanOrEqual(percents[i - 1] ?? 0);
    expect(percents.at(-1)).toBe(100);
  });

  it('cancelled while items back off: their timers are dropped, no attempt runs after', async () => {
    const calls: string[] = [];
    const wf = workflow('adv-cancel-backoff')
      .map('m', {
        items: 'input',
        step: { agent: 'a', retry: { attempts: 5, backoff: 'fixed', initialMs: 1_000 } },
        concurrency: 3,
      })
      .build();
    const run = testEngine({
      agents: {
        a: (n: number, ctx: { attempt: number }) => {
          calls.push(`${n}:${ctx.attempt}`);
          throw new Error('flaky');
        },
      },
    }).start(wf, [0, 1, 2, 3]);
    await vi.advanceTimersByTimeAsync(10);
    expect(calls.sort()).toEqual(['0:1', '1:1', '2:1']);
    run.cancel('enough');
    await expect(run.result).rejects.toMatchObject({ code: 'CANCELLED' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toHaveLength(3);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('times an item out on the fake clock; the map fails and the other items’ signals abort', async () => {
    const signals: AbortSignal[] = [];
    const wf = workflow('adv-timeout')
      .map('m', { items: 'input', step: { agent: 'a', timeoutMs: 50 }, concurrency: 3 })
      .build();
    const run = testEngine({
      agents: {
        a: (n: number, ctx: { signal: AbortSignal }) => {
          signals.push(ctx.signal);
          return n === 0 ? n : new Promise(() => {});
        },
      },
    }).start(wf, [0, 1, 2]);
    const failed = expect(run.result).rejects.toMatchObject({ stepPath: 'm[1]' });
    await vi.advanceTimersByTimeAsync(49);
    expect(run.status).toBe('running');
    await vi.advanceTimersByTimeAsync(1);
    await failed;
    expect(signals.map((s) => s.aborted)).toEqual([false, true, true]);
  });

  it('keeps two maps with the same indices apart: decisions, results and keys by map name', async () => {
    const keys: string[] = [];
    const wf = workflow('adv-two-maps')
      .parallel('p', {
        left: (r) =>
          r.map('a', { items: 'input', step: { agent: 'x', escalate: { to: 'human', timeoutMs: 1_000 } } }),
        right: (r) =>
          r.map('b', { items: 'input', step: { agent: 'y', escalate: { to: 'human', timeoutMs: 1_000 } } }),
      })
      .build();
    const run = testEngine({
      agents: {
        x: (n: number, ctx: { idempotencyKey: string }) => {
          keys.push(ctx.idempotencyKey);
          if (n === 0) throw new Error('x needs a look');
          return `x${n}`;
        },
        y: (n: number, ctx: { idempotencyKey: string }) => {
          keys.push(ctx.idempotencyKey);
          if (n === 0) throw new Error('y needs a look');
          return `y${n}`;
        },
      },
    }).start(wf, [0, 1]);
    await vi.advanceTimersByTimeAsync(10);
    expect([...run.waitingSteps()].sort()).toEqual(['a[0]', 'b[0]']);
    run.resolveEscalation('b[0]', { action: 'skip', value: 'b-decided' });
    await vi.advanceTimersByTimeAsync(0);
    expect(run.waitingSteps()).toEqual(['a[0]']);
    run.resolveEscalation('a[0]', { action: 'skip', value: 'a-decided' });
    await expect(run.result).resolves.toEqual({ a: ['a-decided', 'x1'], b: ['b-decided', 'y1'] });
    expect(keys.sort()).toEqual([
      `${run.id}:a[0]:1`,
      `${run.id}:a[1]:1`,
      `${run.id}:b[0]:1`,
      `${run.id}:b[1]:1`,
    ]);
  });

  it('a sibling region failing aborts the running items’ signals and compensates the finished ones in reverse', async () => {
    const undone: string[] = [];
    const signals = new Map<number, AbortSignal>();
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const wf = workflow('adv-sibling', { onError: 'compensate' })
      .parallel('p', {
        items: (r) =>
          r.map('charge', {
            items: 'input',
            step: { agent: 'charge', compensate: 'refund' },
            concurrency: 4,
          }),
        other: (r) => r.step('late'),
      })
      .build();
    const late = deferred();
    const run = testEngine({
      agents: {
        charge: (n: number, ctx: { signal: AbortSignal }) => {
          signals.set(n, ctx.signal);
          return gates[n]?.promise;
        },
        refund: (input: { step: string; output: unknown }) => {
          undone.push(`${input.step}:${String(input.output)}`);
          return null;
        },
        late: () => late.promise,
      },
    }).start(wf, [0, 1, 2, 3]);
    await vi.advanceTimersByTimeAsync(0);
    gates[2]?.resolve('paid-2');
    await vi.advanceTimersByTimeAsync(0);
    gates[0]?.resolve('paid-0');
    await vi.advanceTimersByTimeAsync(0);
    late.reject(new Error('late failure'));
    await expect(run.result).rejects.toMatchObject({ stepPath: 'late' });
    expect(run.status).toBe('compensated');
    expect(undone).toEqual(['charge[0]:paid-0', 'charge[2]:paid-2']);
    expect([0, 1, 2, 3].map((i) => signals.get(i)?.aborted)).toEqual([false, true, false, true]);
  });

  it('dispatches queued items through the transport, each with its own key', async () => {
    const jobs: AgentJob[] = [];
    const transport: AgentTransport = {
      call: async (job) => {
        jobs.push(job);
        return `${String(job.input)} on ${job.queue}`;
      },
    };
    const wf = workflow('adv-queue')
      .map('m', { items: 'input', step: { agent: 'remote', queue: 'q' }, concurrency: 2 })
      .build();
    const run = testEngine({ transport }).start(wf, ['a', 'b', 'c'], { id: 'rq' });
    await expect(run.result).resolves.toEqual({ m: ['a on q', 'b on q', 'c on q'] });
    expect(jobs.map((j) => [j.stepPath, j.idempotencyKey])).toEqual([
      ['m[0]', 'rq:m[0]:1'],
      ['m[1]', 'rq:m[1]:1'],
      ['m[2]', 'rq:m[2]:1'],
    ]);
  });

  it('persists a JSON-clean snapshot at every step of a map (no functions, classes, Maps or cycles)', async () => {
    const wf = workflow('adv-json')
      .map('m', {
        items: 'input',
        step: { agent: 'a', retry: { attempts: 2, backoff: 'fixed', initialMs: 10 }, compensate: 'undo' },
        concurrency: 2,
      })
      .build();
    const problems: string[] = [];
    let checked = 0;
    let actor: { getPersistedSnapshot(): unknown } | undefined;
    // A checkpoint is taken at every snapshot inspection event of the run's actors (launch.ts): check each.
    const run = testEngine({
      inspect: (event: { type: string }) => {
        if (event.type !== '@xstate.snapshot' || !actor) return;
        const persisted = actor.getPersistedSnapshot();
        problems.push(...unclean(persisted));
        expect(JSON.parse(JSON.stringify(persisted))).toEqual(persisted);
        checked++;
      },
      agents: {
        a: (n: number, ctx: { attempt: number }) => {
          if (n === 1 && ctx.attempt === 1) throw new Error('once');
          return { n };
        },
        undo: () => null,
      },
    }).start(wf, [0, 1, 2, 3]);
    actor = run.actor;
    await vi.advanceTimersByTimeAsync(100);
    await expect(run.result).resolves.toEqual({ m: [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }] });
    expect(checked).toBeGreaterThan(3);
    expect(problems).toEqual([]);
  });

  it('skips an escalated item when its deadline passes on the fake clock, the others done meanwhile', async () => {
    const wf = workflow('adv-esc-timeout')
      .map('m', {
        items: 'input',
        step: { agent: 'a', escalate: { to: 'human', timeoutMs: 1_000, onTimeout: 'skip' } },
        concurrency: 3,
      })
      .build();
    const run = testEngine({
      agents: {
        a: (n: number) => {
          if (n === 1) throw new Error('needs a look');
          return n;
        },
      },
    }).start(wf, [0, 1, 2, 3]);
    await vi.advanceTimersByTimeAsync(999);
    expect(run.waitingSteps()).toEqual(['m[1]']);
    await vi.advanceTimersByTimeAsync(1);
    await expect(run.result).resolves.toEqual({ m: [0, null, 2, 3] });
  });

  it('asks a supervisor agent for a failed item, and falls back to another agent for another', async () => {
    const asked: string[] = [];
    const wf = workflow('adv-supervise')
      .map('m', {
        items: 'input',
        step: { agent: 'a', fallback: 'b', escalate: { to: 'boss', timeoutMs: 1_000 } },
        concurrency: 2,
      })
      .build();
    const run = testEngine({
      agents: {
        a: (n: number) => {
          if (n > 0) throw new Error(`a cannot do ${n}`);
          return 'a0';
        },
        b: (n: number) => {
          if (n === 2) throw new Error('b cannot either');
          return `b${n}`;
        },
        boss: (input: { step: string }) => {
          asked.push(input.step);
          return { action: 'skip', value: 'boss-said' };
        },
      },
    }).start(wf, [0, 1, 2]);
    await vi.advanceTimersByTimeAsync(100);
    await expect(run.result).resolves.toEqual({ m: ['a0', 'b1', 'boss-said'] });
    expect(asked).toEqual(['m[2]']);
  });

  it('addresses the items of a map in a child workflow by their full path', async () => {
    const inner = workflow('adv-inner')
      .map('m', {
        items: 'input',
        step: { agent: 'a', escalate: { to: 'human', timeoutMs: 60_000 } },
        concurrency: 2,
      })
      .build();
    const outer = workflow('adv-outer').step('child', { workflow: inner, input: 'input' }).build();
    const keys: string[] = [];
    const run = testEngine({
      agents: {
        a: (n: number, ctx: { idempotencyKey: string }) => {
          keys.push(ctx.idempotencyKey);
          if (n === 1) throw new Error('needs a look');
          return n;
        },
      },
    }).start(outer, [0, 1, 2], { id: 'nested' });
    await vi.advanceTimersByTimeAsync(10);
    expect(run.waitingSteps()).toEqual(['child/m[1]']);
    expect(() => run.resolveEscalation('m[1]', { action: 'skip', value: 'x' })).toThrow(/not waiting/);
    run.resolveEscalation('child/m[1]', { action: 'skip', value: 'decided' });
    await expect(run.result).resolves.toEqual({ child: { m: [0, 'decided', 2] } });
    expect(keys.sort()).toEqual(['nested:child/m[0]:1', 'nested:child/m[1]:1', 'nested:child/m[2]:1']);
  });

  it('an abort decision on an item fails the map: running items abort, finished ones are compensated', async () => {
    const undone: string[] = [];
    const signals = new Map<number, AbortSignal>();
    const wf = workflow('adv-abort', { onError: 'compensate' })
      .map('m', {
        items: 'input',
        step: { agent: 'a', compensate: 'undo', escalate: { to: 'human', timeoutMs: 60_000 } },
        concurrency: 3,
      })
      .build();
    const run = testEngine({
      agents: {
        a: (n: number, ctx: { signal: AbortSignal }) => {
          signals.set(n, ctx.signal);
          if (n === 1) throw new Error('needs a look');
          return n === 0 ? 'done-0' : new Promise(() => {});
        },
        undo: (input: { step: string; output: unknown }) => {
          undone.push(`${input.step}:${String(input.output)}`);
          return null;
        },
      },
    }).start(wf, [0, 1, 2, 3]);
    await vi.advanceTimersByTimeAsync(10);
    expect(run.waitingSteps()).toEqual(['m[1]']);
    run.resolveEscalation('m[1]', { action: 'abort' });
    await expect(run.result).rejects.toMatchObject({ stepPath: 'm[1]' });
    expect(run.status).toBe('compensated');
    expect(undone).toEqual(['m[0]:done-0']);
    // Item 3 took item 0's place when it finished; both still running abort.
    expect([0, 2, 3].map((i) => signals.get(i)?.aborted)).toEqual([false, true, true]);
  });

  it('a failing map in a region that does not fail fast lets the other region finish, then the run fails', async () => {
    const wf = workflow('adv-no-fail-fast')
      .parallel(
        'p',
        {
          items: (r) => r.map('m', { items: 'input', step: { agent: 'a' }, concurrency: 2 }),
          other: (r) => r.step('slow'),
        },
        { failFast: false },
      )
      .build();
    let slowDone = false;
    const run = testEngine({
      agents: {
        a: (n: number) => {
          if (n === 1) throw new Error('item 1 broke');
          return n;
        },
        slow: async () => {
          await new Promise((r) => setTimeout(r, 100));
          slowDone = true;
          return 'slow';
        },
      },
    }).start(wf, [0, 1, 2]);
    const failed = expect(run.result).rejects.toMatchObject({ stepPath: 'm[1]' });
    await vi.advanceTimersByTimeAsync(100);
    await failed;
    expect(slowDone).toBe(true);
  });
});
