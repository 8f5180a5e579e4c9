// What progress shows across a branch decision (fake clock, no sleeps): `counts.pending` counts the steps the run is
// expected to run, an undecided branch's arms weighted as the ETA weighs them, so done + running + pending does not
// drop by every arm not taken when the branch decides; the ETA then counts only the arm taken; percent never goes
// backwards.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Progress, workflow } from '../../src/index.js';
import { testEngine } from '../support/engine.js';
import { collect, sleeper } from '../support/progress.js';

const fixed = (ms: number) => sleeper(() => ms);

// Three 300 ms steps on one arm, one 100 ms step on the other; every duration is the step's expectedMs.
const wf = workflow('decide')
  .step('scan', { expectedMs: 100 })
  .branch('b', [
    {
      when: 'input.big',
      then: (x) =>
        x
          .step('big1', { expectedMs: 300 })
          .step('big2', { expectedMs: 300 })
          .step('big3', { expectedMs: 300 }),
    },
    { otherwise: (x) => x.step('small', { expectedMs: 100 }) },
  ])
  .step('report', { expectedMs: 100 })
  .build();
const agents = {
  scan: fixed(100),
  big1: fixed(300),
  big2: fixed(300),
  big3: fixed(300),
  small: fixed(100),
  report: fixed(100),
};
const ARM_STEPS = ['big1', 'big2', 'big3', 'small'];

const total = (p: Progress) => p.counts.done + p.counts.running + p.counts.pending;
const listed = (p: Progress, status: string) => p.steps.filter((s) => s.status === status).map((s) => s.path);
/** Whether the branch has decided: a step of an arm has started. */
const decided = (p: Progress) => p.steps.some((s) => ARM_STEPS.includes(s.path) && s.status !== 'pending');

/** The emissions of one run of `wf` on an engine, and the last one before the branch decided and the first after. */
async function runOnce(engine: ReturnType<typeof testEngine>, big: boolean) {
  const run = engine.start(wf, { big });
  const seen = collect(run);
  await vi.advanceTimersByTimeAsync(5_000);
  await run.result;
  const { emissions } = seen;
  const at = emissions.findIndex(decided);
  expect(at).toBeGreaterThan(0);
  emissions.forEach((p, i) => {
    if (i > 0) expect(p.percent, `emission ${i}`).toBeGreaterThanOrEqual(emissions[i - 1]?.percent ?? 0);
  });
  return { emissions, before: emissions[at - 1] as Progress, after: emissions[at] as Progress };
}

describe('progress across a branch decision', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('without history counts an undecided branch as the mean of its arms, then the arm taken alone', async () => {
    for (const big of [false, true]) {
      const { emissions, before, after } = await runOnce(
        testEngine({ agents, progress: { throttleMs: 0 } }),
        big,
      );
      const first = emissions[0] as Progress;
      // Every step of both arms is listed, but pending counts (3 + 1) / 2 of them, plus report.
      expect(listed(first, 'pending')).toEqual([...ARM_STEPS, 'report']);
      expect(first.counts).toMatchObject({ running: 1, pending: 3 });
      expect(first.eta.remainingMs).toBe(100 + (900 + 100) / 2 + 100);
      expect(total(before)).toBe(4);
      // The arm taken: its steps and report, and nothing of the other arm, in the list, the count and the ETA.
      expect(total(after)).toBe(big ? 5 : 3);
      expect(listed(after, 'pending')).toEqual(big ? ['big2', 'big3', 'report'] : ['report']);
      expect(after.eta.remainingMs).toBe(big ? 900 + 100 : 100 + 100);
      if (big)
        expect(after.percent).toBe(before.percent); // held: a slower arm does not move the bar back
      else expect(after.percent).toBeGreaterThan(before.percent);
      for (const p of emissions.filter(decided)) {
        expect(p.counts.pending).toBe(listed(p, 'pending').length);
      }
    }
  });

  it('with history counts the arm usually taken: the total holds across the decision, or grows for the other arm', async () => {
    const engine = testEngine({ agents, progress: { throttleMs: 0 } });
    await runOnce(engine, false);
    const usual = await runOnce(engine, false);
    // scan, small, report all along: no step is ever counted that will not run.
    expect(usual.emissions.filter((p) => p.status !== 'done').map(total)).toEqual(
      usual.emissions.filter((p) => p.status !== 'done').map(() => 3),
    );
    expect(usual.before.eta.remainingMs).toBe(200);

    const other = await runOnce(engine, true);
    // The big arm was never taken: the ETA and the count leave it out until it is.
    expect(other.before.counts.pending).toBe(2);
    expect(other.before.eta.remainingMs).toBe(200);
    expect(other.after.counts).toMatchObject({ done: 1, running: 1, pending: 3 });
    expect(other.after.eta.remainingMs).toBe(1_000);
    expect(other.after.percent).toBe(other.before.percent);
  });
});
