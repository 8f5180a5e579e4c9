import { describe, expect, it } from 'vitest';
import { resolveRetryPolicy } from '../../src/machine/retry.js';
import { initialStep, type StepEnv, stepTransition } from '../../src/machine/step-transition.js';
import type { StepActorInput, StepSnapshot } from '../../src/machine/step-types.js';
import { CancelledError, type SerializedError, StepTimeoutError } from '../../src/model/errors.js';

/** The step transition is a pure function: no actor, no timer, no agent; a clock that only moves when told. */
function world(start = 1_000) {
  let now = start;
  const env: StepEnv = {
    now: () => now,
    random: () => 0.5,
    scrub: (error) => JSON.parse(JSON.stringify(error).replaceAll('s3cret', '[secret]')),
  };
  return { env, advance: (ms: number) => (now += ms) };
}

function input(overrides: Partial<StepActorInput> = {}): StepActorInput {
  return {
    workflowId: 'run-1',
    path: 'lookup',
    agent: 'lookup',
    input: { q: 1 },
    retry: resolveRetryPolicy({ attempts: 3, backoff: 'fixed', initialMs: 100, jitter: 0 }),
    ...overrides,
  };
}

const failure = (message: string): SerializedError => ({ name: 'Error', message });

describe('stepTransition (pure)', () => {
  it('ends done on a settled output: the learner is told, the next phase armed', () => {
    const { env, advance } = world();
    const s = initialStep(input(), env.now());
    advance(40);
    const { snapshot, effects } = stepTransition(
      s,
      { type: 'flowstate.step.settled', token: 1, ok: true, output: 7 },
      env,
    );
    expect(snapshot).toMatchObject({ status: 'done', output: 7, phase: 'done', token: 2 });
    expect(snapshot.history).toEqual([{ attempt: 1, agent: 'lookup', startedAt: 1_000, endedAt: 1_040 }]);
    expect(effects.map((e) => e.type)).toEqual(['ended', 'arm']);
    // The input snapshot is untouched: a transition never mutates.
    expect(s.status).toBe('active');
  });

  it('backs off after a retryable failure, from the instant the attempt ended, and logs it at debug', () => {
    const { env, advance } = world();
    const s = initialStep(input(), env.now());
    advance(10);
    const { snapshot, effects } = stepTransition(
      s,
      { type: 'flowstate.step.settled', token: 1, ok: false, error: failure('boom'), retryable: true },
      env,
    );
    expect(snapshot).toMatchObject({ phase: 'backoff', deadline: 1_010 + 100, token: 2 });
    expect(effects).toEqual([
      expect.objectContaining({ type: 'log', level: 'debug', message: 'retry scheduled' }),
      { type: 'arm' },
    ]);
    const next = stepTransition(snapshot, { type: 'flowstate.step.timer', token: 2 }, env);
    expect(next.snapshot).toMatchObject({ phase: 'running', attempt: 2, attempts: 2, token: 3 });
    expect(next.effects).toEqual([{ type: 'arm' }]);
  });

  it('ignores stale events: same snapshot, no effects', () => {
    const { env } = world();
    const s = initialStep(input(), env.now());
    const stale = stepTransition(s, { type: 'flowstate.step.timer', token: 0 }, env);
    expect(stale.snapshot).toBe(s);
    expect(stale.effects).toEqual([]);
    const decisionWhileRunning = stepTransition(
      s,
      { type: 'flowstate.decision', decision: { action: 'skip' } },
      env,
    );
    expect(decisionWhileRunning.snapshot).toBe(s);
  });

  it('a timeout releases the attempt with a StepTimeoutError before arming the retry', () => {
    const { env } = world();
    const s = initialStep(input({ timeoutMs: 50 }), env.now());
    const { snapshot, effects } = stepTransition(s, { type: 'flowstate.step.timeout', token: 1 }, env);
    expect(snapshot.phase).toBe('backoff');
    const kinds = effects.map((e) => e.type);
    expect(kinds.slice(-2)).toEqual(['release', 'arm']);
    const release = effects.find((e) => e.type === 'release');
    expect(release && release.type === 'release' && release.reason).toBeInstanceOf(StepTimeoutError);
  });

  it('stop releases the attempt with a CancelledError and arms nothing', () => {
    const { env } = world();
    const s = initialStep(input(), env.now());
    const { snapshot, effects } = stepTransition(s, { type: 'xstate.stop' }, env);
    expect(snapshot.status).toBe('stopped');
    expect(effects).toHaveLength(1);
    expect(effects[0]?.type === 'release' && effects[0].reason).toBeInstanceOf(CancelledError);
  });

  it('fails with a scrubbed error and a warn line once attempts, fallback and escalation are spent', () => {
    const { env } = world();
    let s: StepSnapshot = initialStep(input({ retry: resolveRetryPolicy({ attempts: 1 }) }), env.now());
    const { snapshot, effects } = stepTransition(
      s,
      { type: 'flowstate.step.settled', token: 1, ok: false, error: failure('bad s3cret'), retryable: true },
      env,
    );
    s = snapshot;
    expect(s.status).toBe('error');
    expect(s.error?.code).toBe('STEP_FAILED');
    expect(JSON.stringify(s.error)).not.toContain('s3cret');
    expect(effects.map((e) => e.type)).toEqual(['log', 'ended', 'arm']);
    expect(effects[0]).toMatchObject({ level: 'warn', message: 'step failed' });
    // A finished step ignores everything.
    expect(stepTransition(s, { type: 'flowstate.step.timer', token: s.token }, env).effects).toEqual([]);
  });

  it('escalates to a human with a deadline, and a decision ends the wait', () => {
    const { env } = world();
    const s = initialStep(
      input({
        retry: resolveRetryPolicy({ attempts: 1 }),
        escalate: { to: 'human', timeoutMs: 5_000, onTimeout: 'fail' },
      }),
      env.now(),
    );
    const escalated = stepTransition(
      s,
      { type: 'flowstate.step.settled', token: 1, ok: false, error: failure('no'), retryable: false },
      env,
    ).snapshot;
    expect(escalated).toMatchObject({ phase: 'escalated', deadline: 6_000 });
    const skipped = stepTransition(
      escalated,
      { type: 'flowstate.decision', decision: { action: 'skip', value: 'default' } },
      env,
    ).snapshot;
    expect(skipped).toMatchObject({ status: 'done', output: 'default' });
    const timedOut = stepTransition(escalated, { type: 'flowstate.step.timer', token: escalated.token }, env);
    expect(timedOut.snapshot.error?.code).toBe('ESCALATION_TIMEOUT');
  });

  it('a supervisor with no valid decision fails the step', () => {
    const { env } = world();
    const s = initialStep(
      input({
        retry: resolveRetryPolicy({ attempts: 1 }),
        escalate: { to: 'boss', timeoutMs: 5_000, onTimeout: 'fail' },
      }),
      env.now(),
    );
    const supervising = stepTransition(
      s,
      { type: 'flowstate.step.settled', token: 1, ok: false, error: failure('no'), retryable: false },
      env,
    ).snapshot;
    expect(supervising).toMatchObject({ phase: 'supervising', rounds: 1, escalationDeadline: 6_000 });
    const answered = stepTransition(
      supervising,
      { type: 'flowstate.step.settled', token: supervising.token, ok: true, output: { action: 'maybe' } },
      env,
    ).snapshot;
    expect(answered.error?.message).toMatch(/returned no valid decision/);
  });
});
