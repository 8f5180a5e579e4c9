import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createActor, fromPromise, setup } from 'xstate';
import { agentActor, memoryHistory, type Progress, trackProgress, workflow } from '../../src/index.js';
import { renderFrame, terminalReporter } from '../../src/progress/reporters/terminal.js';
import { testEngine } from '../support/engine.js';
import { plain, sink, sleeper } from '../support/progress.js';

// A run waiting on the outside world (a `waitFor`, an escalation to a person, a hand-written state waiting for an
// event) is not progressing: its percent holds while it waits, and its ETA says what it waits on. Fake clock.

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** draft (1 s), then an approval with a 1-hour timeout, then publish (1 s). */
const approval = workflow('approval')
  .step('draft', { expectedMs: 1_000 })
  .waitFor('approve', { event: 'approve', timeoutMs: HOUR })
  .step('publish', { expectedMs: 1_000 })
  .build();

const agents = { draft: sleeper(() => 1_000), publish: sleeper(() => 1_000) };

/** The progress now, as a new subscriber gets it at once (without the stream's memory of its best percent). */
function current(actor: Parameters<typeof trackProgress>[0]): Progress {
  let now: Progress | undefined;
  trackProgress(actor, { throttleMs: 0 })
    .subscribe((p) => {
      now ??= p;
    })
    .unsubscribe();
  return now as Progress;
}

/** Every emission, with a tick each minute so a long wait shows time passing. */
function follow(actor: Parameters<typeof trackProgress>[0]) {
  const seen: Progress[] = [];
  let completed = false;
  trackProgress(actor, { throttleMs: 0, tickMs: MINUTE }).subscribe({
    next: (p) => seen.push(p),
    complete: () => {
      completed = true;
    },
  });
  return { seen, completed: () => completed };
}

describe('progress while a run waits on the outside world', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('holds the percent through a 30-minute wait for an event, then resumes from there to 100', async () => {
    const run = testEngine({ agents }).start(approval, {});
    const { seen, completed } = follow(run.actor);
    // The figures of the example in docs/progress.md.
    await vi.advanceTimersByTimeAsync(500);
    expect(current(run.actor)).toMatchObject({
      status: 'running',
      percent: 25,
      eta: { remainingMs: 1_500, high: 1_500 + HOUR + 2_000 },
    });
    await vi.advanceTimersByTimeAsync(500);
    const atWait = seen.at(-1) as Progress;
    expect(atWait.status).toBe('waiting');
    // draft done, publish ahead: half the run's own work.
    expect(atWait.percent).toBe(50);
    expect(atWait.eta.waitingOn).toEqual([
      { kind: 'event', path: 'approve', event: 'approve', deadline: 1_000 + HOUR },
    ]);

    const before = seen.length;
    await vi.advanceTimersByTimeAsync(30 * MINUTE);
    const during = seen.slice(before);
    expect(during.length).toBeGreaterThanOrEqual(30);
    for (const p of during) {
      expect(p.status).toBe('waiting');
      expect(p.percent).toBe(50);
      expect(p.eta.waitingOn?.[0]?.deadline).toBe(1_000 + HOUR);
    }
    // The ETA still tells what is known: publish after the event, the event at the latest by the deadline.
    const last = during.at(-1) as Progress;
    expect(last.eta).toMatchObject({ remainingMs: 1_000, high: 1_000 + HOUR - last.at + 2_000 });

    expect(run.send({ type: 'approve' })).toBe(true);
    await vi.advanceTimersByTimeAsync(500);
    const resumed = current(run.actor);
    expect(resumed.status).toBe('running');
    expect(resumed.eta.waitingOn).toBeUndefined();
    // Half of publish is done: three quarters of the run's work, not 99% because the wait took 30 minutes.
    expect(resumed.percent).toBe(75);
    expect(resumed.eta).toMatchObject({ remainingMs: 500, high: 1_500 });
    await vi.advanceTimersByTimeAsync(500);
    await run.result;
    expect(seen.at(-1)).toMatchObject({ status: 'done', percent: 100 });
    expect(completed()).toBe(true);
    const percents = seen.map((p) => p.percent);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
  });

  it('counts the hold before it was watched: set up during the wait, or after it (from the steps that ended)', async () => {
    const engine = testEngine({ agents });
    const during = engine.start(approval, {});
    await vi.advanceTimersByTimeAsync(1_000 + 30 * MINUTE);
    // Watched only now, 30 minutes into the wait: it began when its deadline says.
    const late = current(during.actor);
    expect(late).toMatchObject({ status: 'waiting', percent: 50, elapsedMs: 1_000 + 30 * MINUTE });
    expect(late.steps.find((s) => s.path === 'approve')?.startedAt).toBe(1_000);

    const after = engine.start(approval, {});
    await vi.advanceTimersByTimeAsync(1_000 + 30 * MINUTE);
    after.send({ type: 'approve' });
    await vi.advanceTimersByTimeAsync(500);
    // Watched once the wait is over: the wait ended before, alone, so its 30 minutes were a hold.
    expect(current(after.actor)).toMatchObject({ status: 'running', percent: 75 });
    await vi.advanceTimersByTimeAsync(500);
    await after.result;
    await during.cancel();
  });

  it('the terminal reporter says what the run waits for and until when', async () => {
    const run = testEngine({ agents }).start(approval, {});
    const out = sink(false);
    const reporter = terminalReporter(trackProgress(run.actor, { throttleMs: 0, tickMs: MINUTE }), {
      stream: out,
    });
    await vi.advanceTimersByTimeAsync(1_000 + 10 * MINUTE);
    const frame = renderFrame(current(run.actor), 10).join('\n');
    expect(frame).toContain('50%');
    expect(frame).toContain('waiting, then ETA 1.0 s');
    expect(frame).toMatch(/▸ approve .* waiting for 'approve', times out in 50m 00s/);
    run.send({ type: 'approve' });
    await vi.advanceTimersByTimeAsync(1_000);
    await reporter.done;
    // Plain lines: the wait gets one line as it begins (the percent holds, so no percent line tells it).
    const waitLines = plain(out.text())
      .split('\n')
      .filter((l) => l.includes('⏸'));
    expect(waitLines).toEqual(["  ⏸ approve waiting for 'approve', times out in 1h 00m"]);
  });

  it('holds it the same when history expects the wait, whose time the ETA counts and the percent does not', async () => {
    const history = memoryHistory();
    const engine = testEngine({ agents, history });
    const first = engine.start(approval, {});
    await vi.advanceTimersByTimeAsync(1_000 + 20 * MINUTE);
    first.send({ type: 'approve' });
    await vi.advanceTimersByTimeAsync(1_000);
    await first.result;
    expect(history.estimate('approval', 'approve')?.ms).toBe(20 * MINUTE);

    const run = engine.start(approval, {});
    const { seen } = follow(run.actor);
    // Before anything ran: the wait is most of the expected time, none of the work.
    expect(seen[0]?.eta.remainingMs).toBe(2_000 + 20 * MINUTE);
    expect(seen[0]?.percent).toBe(0);
    await vi.advanceTimersByTimeAsync(500);
    expect(current(run.actor).percent).toBe(25);
    await vi.advanceTimersByTimeAsync(500 + 30 * MINUTE);
    const waited = seen.filter((p) => p.status === 'waiting');
    expect(waited.length).toBeGreaterThan(30);
    for (const p of waited) expect(p.percent).toBe(50);
    run.send({ type: 'approve' });
    await vi.advanceTimersByTimeAsync(500);
    expect(current(run.actor).percent).toBe(75);
    await vi.advanceTimersByTimeAsync(500);
    expect(seen.at(-1)).toMatchObject({ status: 'done', percent: 100 });
  });

  it('holds it while a step waits for a person to decide, with the escalation deadline', async () => {
    let calls = 0;
    const wf = workflow('escalating')
      .step('draft', { expectedMs: 1_000 })
      .step('check', { expectedMs: 1_000, escalate: { to: 'human', timeoutMs: HOUR } })
      .build();
    const run = testEngine({
      agents: {
        draft: sleeper(() => 1_000),
        check: sleeper(
          () => 1_000,
          () => {
            calls++;
            if (calls === 1) throw new Error('unsure');
            return 'ok';
          },
        ),
      },
    }).start(wf, {});
    const { seen } = follow(run.actor);
    await vi.advanceTimersByTimeAsync(2_000);
    const escalated = seen.at(-1) as Progress;
    expect(escalated.status).toBe('waiting');
    // The failed attempt's time counts as work done, and a whole attempt is ahead again.
    expect(escalated.percent).toBe(66.7);
    expect(escalated.eta.waitingOn).toEqual([{ kind: 'human', path: 'check', deadline: 2_000 + HOUR }]);
    const before = seen.length;
    await vi.advanceTimersByTimeAsync(30 * MINUTE);
    for (const p of seen.slice(before)) expect(p.percent).toBe(66.7);
    run.resolveEscalation('check', { action: 'retry' });
    await vi.advanceTimersByTimeAsync(500);
    const resumed = current(run.actor);
    expect(resumed).toMatchObject({ status: 'running', percent: 83.3 });
    expect(resumed.eta.waitingOn).toBeUndefined();
    await vi.advanceTimersByTimeAsync(500);
    await run.result;
    expect(seen.at(-1)).toMatchObject({ status: 'done', percent: 100 });
  });

  it('holds it through a long backoff, whose end the ETA knows, then resumes with the retry', async () => {
    let calls = 0;
    const wf = workflow('backing-off')
      .step('draft', { expectedMs: 1_000 })
      .step('call', {
        expectedMs: 1_000,
        retry: { attempts: 2, backoff: 'fixed', initialMs: 10 * MINUTE, maxMs: 10 * MINUTE, jitter: 0 },
      })
      .build();
    const run = testEngine({
      agents: {
        draft: sleeper(() => 1_000),
        call: sleeper(
          () => 1_000,
          () => {
            calls++;
            if (calls === 1) throw new Error('rate limited');
            return 'ok';
          },
        ),
      },
    }).start(wf, {});
    const { seen } = follow(run.actor);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(current(run.actor).percent).toBe(75);
    await vi.advanceTimersByTimeAsync(500);
    const failed = seen.at(-1) as Progress;
    // Not a wait on a person or an event: still running, but on hold until the retry.
    expect(failed.status).toBe('running');
    expect(failed.eta).toMatchObject({
      remainingMs: 10 * MINUTE + 1_000,
      waitingOn: [{ kind: 'retry', path: 'call', deadline: 2_000 + 10 * MINUTE }],
    });
    // The failed attempt was work, and a whole attempt is ahead again: 2 s of 3.
    expect(failed.percent).toBe(66.7);
    const before = seen.length;
    await vi.advanceTimersByTimeAsync(10 * MINUTE - 1);
    expect(seen.length - before).toBeGreaterThanOrEqual(9);
    for (const p of seen.slice(before)) expect(p.percent).toBe(66.7);
    await vi.advanceTimersByTimeAsync(501);
    expect(current(run.actor)).toMatchObject({ status: 'running', percent: 83.3 });
    await vi.advanceTimersByTimeAsync(500);
    await run.result;
    expect(seen.at(-1)).toMatchObject({ status: 'done', percent: 100 });
  });

  it('holds it while a hand-written machine waits for an outside event', async () => {
    const machine = setup({ actors: { draft: agentActor<unknown, string>() } }).createMachine({
      id: 'drafting',
      initial: 'draft',
      states: {
        draft: {
          meta: { flowstate: { kind: 'step', expectedMs: 1_000 } },
          invoke: { src: 'draft', onDone: 'review' },
        },
        review: { on: { approve: 'polish' } },
        polish: {
          meta: { flowstate: { kind: 'step', expectedMs: 1_000 } },
          invoke: { src: 'draft', onDone: 'approved' },
        },
        approved: { type: 'final' },
      },
    });
    const run = testEngine({ agents: { draft: sleeper(() => 1_000) } }).start(machine, {});
    const { seen } = follow(run.actor);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(seen.at(-1)).toMatchObject({ status: 'waiting', percent: 50 });
    expect(seen.at(-1)?.eta.waitingOn).toEqual([{ kind: 'event', path: 'review', event: 'approve' }]);
    const before = seen.length;
    await vi.advanceTimersByTimeAsync(30 * MINUTE);
    for (const p of seen.slice(before)) expect(p.percent).toBe(50);
    run.send({ type: 'approve' });
    await vi.advanceTimersByTimeAsync(500);
    expect(current(run.actor).percent).toBe(75);
    await vi.advanceTimersByTimeAsync(500);
    await run.result;
    expect(seen.at(-1)).toMatchObject({ status: 'done', percent: 100 });
  });

  it('holds it while a child workflow waits, naming the wait by its path in the child', async () => {
    const child = workflow('approvalChild')
      .waitFor('ok', { event: 'ok', timeoutMs: HOUR })
      .step('publish', { expectedMs: 1_000 })
      .build();
    const parent = workflow('approvalParent')
      .step('draft', { expectedMs: 1_000 })
      .step('sub', { workflow: child })
      .build();
    const run = testEngine({ agents }).start(parent, {});
    const { seen } = follow(run.actor);
    await vi.advanceTimersByTimeAsync(1_000);
    const atWait = current(run.actor);
    expect(atWait).toMatchObject({ status: 'waiting', percent: 50 });
    expect(atWait.eta.waitingOn).toEqual([
      { kind: 'event', path: 'sub/ok', event: 'ok', deadline: 1_000 + HOUR },
    ]);
    const before = seen.length;
    await vi.advanceTimersByTimeAsync(30 * MINUTE);
    for (const p of seen.slice(before)) expect(p.percent).toBe(50);
    expect(run.send({ type: 'ok' })).toBe(true);
    await vi.advanceTimersByTimeAsync(500);
    expect(current(run.actor).percent).toBe(75);
    await vi.advanceTimersByTimeAsync(500);
    await run.result;
    expect(seen.at(-1)).toMatchObject({ status: 'done', percent: 100 });
  });

  it('does not hold while another region works beside the wait', async () => {
    const machine = setup({
      actors: { work: fromPromise(() => new Promise((resolve) => setTimeout(resolve, 1_000))) },
    }).createMachine({
      id: 'beside',
      initial: 'both',
      states: {
        both: {
          type: 'parallel',
          states: {
            ask: { initial: 'review', states: { review: { on: { approve: 'ok' } }, ok: { type: 'final' } } },
            build: {
              initial: 'compile',
              states: {
                compile: {
                  meta: { flowstate: { kind: 'step', expectedMs: 1_000 } },
                  invoke: { src: 'work', onDone: 'built' },
                },
                built: { type: 'final' },
              },
            },
          },
          onDone: 'done',
        },
        done: { type: 'final' },
      },
    });
    const actor = createActor(machine);
    const { seen } = follow(actor);
    actor.start();
    await vi.advanceTimersByTimeAsync(500);
    // Waiting (a region waits for `approve`), but the other region's work goes on, and so does the percent.
    expect(current(actor)).toMatchObject({ status: 'waiting', percent: 50 });
    expect(current(actor).eta.waitingOn).toEqual([
      { kind: 'event', path: 'both.ask.review', event: 'approve' },
    ]);
    await vi.advanceTimersByTimeAsync(500 + 30 * MINUTE);
    // Then only the approval is left: the work is all done, and the percent holds at its most.
    const after = seen.filter((p) => p.at >= 1_000);
    expect(after.length).toBeGreaterThan(30);
    for (const p of after) expect(p.percent).toBe(99.9);
    actor.send({ type: 'approve' });
    expect(seen.at(-1)).toMatchObject({ status: 'done', percent: 100 });
  });
});
