import type { EscalationDecision, TokenUsage } from '../model/agent.js';
import {
  CancelledError,
  failureOf,
  type SerializedError,
  type StepErrorCode,
  StepTimeoutError,
  serializeError,
} from '../model/errors.js';
import { parseDecision } from './decision.js';
import { backoffDelay, isRetryable } from './retry.js';
import {
  type AttemptRecord,
  type StepActorInput,
  type StepEvent,
  type StepSnapshot,
  type StepState,
  SUPERVISOR_ROUNDS,
} from './step-types.js';

/** What the transition reads from the world: the clock, jitter, and the run's secrets. */
export interface StepEnv {
  now(): number;
  random(): number;
  /** The error without the run's secrets (itself when the run has none). */
  scrub(error: SerializedError, runId: string): SerializedError;
}

/**
 * A side effect a transition asks of the actor that performs it, in order:
 * - `log`: a line for the run's logger;
 * - `ended`: the step ended done or failed (the learner records it);
 * - `release`: abort the attempt in flight (its agent's signal fires with `reason`) and cancel its timers;
 * - `arm`: start what the new phase needs (an agent call and its timeout, or a timer to the deadline), once the new
 *   snapshot is committed.
 */
export type StepEffect =
  | {
      readonly type: 'log';
      readonly level: 'debug' | 'info' | 'warn';
      readonly fields: Readonly<Record<string, unknown>>;
      readonly message: string;
    }
  | { readonly type: 'ended' }
  | { readonly type: 'release'; readonly reason: unknown }
  | { readonly type: 'arm' };

/** The next snapshot and the effects that go with it. */
export interface StepTransition {
  readonly snapshot: StepSnapshot;
  readonly effects: readonly StepEffect[];
}

const NO_EFFECTS: readonly StepEffect[] = Object.freeze([]);
// Shared, frozen: effects are read, never written, and these two end almost every attempt.
const ENDED: StepEffect = Object.freeze({ type: 'ended' });
const ARM: StepEffect = Object.freeze({ type: 'arm' });
/** The effects of an attempt that ended the step with nothing to log (most steps): one array for all. */
const ENDED_AND_ARM: readonly StepEffect[] = Object.freeze([ENDED, ARM]);

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/** The snapshot of a step actor that starts its first attempt now. */
export function initialStep(input: StepActorInput, now: number): StepSnapshot {
  return {
    status: 'active',
    output: undefined,
    error: undefined,
    input,
    phase: 'running',
    agent: input.agent,
    attempt: 1,
    attempts: 1,
    token: 1,
    deadline: undefined,
    startedAt: now,
    history: [{ attempt: 1, agent: input.agent, startedAt: now }],
  };
}

/**
 * The step actor's transition as a pure function: the next snapshot for an event, and its effects as data. The
 * actor (step-logic.ts) performs the effects after XState commits the snapshot, so this function is testable with
 * no actor, no timer and no agent.
 */
export function stepTransition(s: StepSnapshot, event: StepEvent, env: StepEnv): StepTransition {
  if (s.status !== 'active') return { snapshot: s, effects: NO_EFFECTS };
  const transition = new Transition(env);
  const next = transition.step(s, event);
  if (next === s) return { snapshot: s, effects: NO_EFFECTS };
  const ended = next.status === 'done' || next.status === 'error';
  const { logs } = transition;
  if (!logs && ended && event.type !== 'xstate.stop' && event.type !== 'flowstate.step.timeout')
    return { snapshot: next, effects: ENDED_AND_ARM };
  const effects = logs ?? [];
  if (ended) effects.push(ENDED);
  if (event.type === 'xstate.stop') {
    effects.push({
      type: 'release',
      reason: new CancelledError('The step was stopped', { stepPath: s.input.path }),
    });
  } else if (next.token !== s.token) {
    if (event.type === 'flowstate.step.timeout') effects.push({ type: 'release', reason: timeoutReason(s) });
    effects.push(ARM);
  }
  return { snapshot: next, effects };
}

/** The reason an attempt that ran out of time is aborted with (also its error). */
function timeoutReason(s: StepState): StepTimeoutError {
  return new StepTimeoutError(s.input.timeoutMs ?? 0, { stepPath: s.input.path, attempts: s.attempts });
}

/** One transition's working set: the environment and the log lines it collects. */
class Transition {
  /** The log lines, made with the first (most transitions log nothing). */
  logs: StepEffect[] | undefined;

  constructor(private readonly env: StepEnv) {}

  step(s: StepSnapshot, event: StepEvent): StepSnapshot {
    switch (event.type) {
      case 'xstate.stop':
        return { ...s, status: 'stopped', output: undefined, error: undefined };
      case 'flowstate.step.settled':
        if (event.token !== s.token) return s;
        if (s.phase === 'supervising') {
          if (!event.ok)
            return this.fail(s, `Supervisor '${s.input.escalate?.to}' failed`, 'STEP_FAILED', event.error);
          const decision = parseDecision(event.output);
          if (!decision) {
            return this.fail(
              s,
              `Supervisor '${s.input.escalate?.to}' returned no valid decision`,
              'STEP_FAILED',
            );
          }
          return this.decide(s, decision);
        }
        if (s.phase !== 'running') return s;
        if (event.ok) return this.done(s, event.output, this.endedHistory(s, undefined, event.usage));
        return this.attemptFailed(
          this.endAttempt(s, event.error, event.usage, event.retryAfterMs),
          event.error,
          event.retryable,
          event.retryAfterMs,
        );
      case 'flowstate.step.timeout': {
        if (event.token !== s.token || s.phase !== 'running') return s;
        const error = serializeError(timeoutReason(s));
        return this.attemptFailed(this.endAttempt(s, error), error, isRetryable(error, s.input.retry));
      }
      case 'flowstate.step.timer':
        if (event.token !== s.token) return s;
        if (s.phase === 'backoff') return this.startAttempt(s, s.agent, s.attempt + 1);
        if (s.phase === 'escalated' || s.phase === 'supervising') return this.escalationTimedOut(s);
        return s;
      case 'flowstate.decision':
        return s.phase === 'escalated' ? this.decide(s, event.decision) : s;
    }
  }

  private log(level: 'debug' | 'info' | 'warn', fields: Record<string, unknown>, message: string): void {
    this.logs ??= [];
    this.logs.push({ type: 'log', level, fields, message });
  }

  private startAttempt(s: StepSnapshot, agent: string, attempt: number): StepSnapshot {
    const attempts = s.attempts + 1;
    return {
      ...s,
      phase: 'running',
      agent,
      attempt,
      attempts,
      restored: false,
      token: s.token + 1,
      deadline: undefined,
      history: [...s.history, { attempt: attempts, agent, startedAt: this.env.now() }],
    };
  }

  private endAttempt(
    s: StepSnapshot,
    error?: SerializedError,
    usage?: TokenUsage,
    retryAfterMs?: number,
  ): StepSnapshot {
    const history = this.endedHistory(s, error, usage, retryAfterMs);
    return history === s.history ? s : { ...s, history };
  }

  /** The attempts with the last one ended now. */
  private endedHistory(
    s: StepSnapshot,
    error?: SerializedError,
    usage?: TokenUsage,
    retryAfterMs?: number,
  ): StepSnapshot['history'] {
    const last = s.history[s.history.length - 1];
    if (!last || last.endedAt !== undefined) return s.history;
    const endedAt = this.env.now();
    // Built field by field: this runs at the end of every attempt, and most carry neither usage nor retry-after.
    // An open record has these three fields only; a literal of them is cheaper than a spread of it.
    const { attempt, agent, startedAt } = last;
    const ended: Writable<AttemptRecord> = error
      ? { attempt, agent, startedAt, endedAt, error }
      : { attempt, agent, startedAt, endedAt };
    if (usage) ended.usage = usage;
    if (retryAfterMs !== undefined) ended.retryAfterMs = retryAfterMs;
    if (s.history.length === 1) return [ended];
    return [...s.history.slice(0, -1), ended];
  }

  private attemptFailed(
    s: StepSnapshot,
    error: SerializedError,
    retryable: boolean,
    retryAfterMs?: number,
  ): StepSnapshot {
    const { input } = s;
    if (retryable && s.attempt < input.retry.attempts) {
      // A server's retry-after lengthens the policy's backoff, never past its `maxMs`.
      const delay = Math.max(
        backoffDelay(input.retry, s.attempt, () => this.env.random()),
        Math.min(retryAfterMs ?? 0, input.retry.maxMs),
      );
      this.log(
        'debug',
        { step: input.path, attempt: s.attempts, delayMs: delay, err: error },
        'retry scheduled',
      );
      // From the instant the attempt ended (one clock read): the step log shows the backoff as exactly `delay`.
      const endedAt = s.history.at(-1)?.endedAt ?? this.env.now();
      return { ...s, phase: 'backoff', token: s.token + 1, deadline: endedAt + delay };
    }
    if (input.fallback !== undefined && s.agent !== input.fallback) {
      this.log('debug', { step: input.path, fallback: input.fallback }, 'switching to fallback agent');
      return this.startAttempt(s, input.fallback, 1);
    }
    if (input.escalate) return this.escalate(s, input.escalate, error);
    return this.fail(
      s,
      `Step '${input.path}' failed after ${s.attempts} attempt${s.attempts === 1 ? '' : 's'}`,
      'STEP_FAILED',
      error,
    );
  }

  private escalate(
    s: StepSnapshot,
    { to, timeoutMs }: NonNullable<StepActorInput['escalate']>,
    error: SerializedError,
  ): StepSnapshot {
    const path = s.input.path;
    const now = this.env.now();
    if (to === 'human') {
      this.log('info', { step: path, to, err: error }, 'step escalated');
      return { ...s, phase: 'escalated', token: s.token + 1, deadline: now + timeoutMs };
    }
    // A supervisor agent may answer `retry` at once every time: its rounds share one deadline and a budget.
    const rounds = s.rounds ?? 0;
    if (rounds >= SUPERVISOR_ROUNDS) {
      return this.fail(
        s,
        `Step '${path}' still failed after supervisor '${to}' decided 'retry' ${rounds} times (at most ${SUPERVISOR_ROUNDS} supervisor rounds)`,
        'STEP_FAILED',
        error,
      );
    }
    const deadline = s.escalationDeadline ?? now + timeoutMs;
    if (now >= deadline) return this.escalationTimedOut(s);
    this.log('info', { step: path, to, round: rounds + 1, err: error }, 'step escalated');
    return {
      ...s,
      phase: 'supervising',
      token: s.token + 1,
      deadline,
      escalationDeadline: deadline,
      rounds: rounds + 1,
    };
  }

  private decide(s: StepSnapshot, decision: EscalationDecision): StepSnapshot {
    switch (decision.action) {
      case 'retry':
        return this.startAttempt(s, s.input.agent, 1);
      case 'skip':
        return this.done(s, decision.value ?? null);
      case 'abort':
        return this.fail(
          s,
          decision.reason ?? `Step '${s.input.path}' was aborted on escalation`,
          'STEP_FAILED',
          s.history.at(-1)?.error,
        );
    }
  }

  /** The escalation's deadline passed: `onTimeout` applies. */
  private escalationTimedOut(s: StepSnapshot): StepSnapshot {
    const escalate = s.input.escalate;
    if (escalate?.onTimeout === 'skip') return this.done(s, null);
    const rounds = s.rounds ?? 0;
    return this.fail(
      s,
      `Escalation of step '${s.input.path}' got no decision within ${escalate?.timeoutMs} ms${rounds > 1 ? ` (over ${rounds} supervisor rounds)` : ''}`,
      'ESCALATION_TIMEOUT',
    );
  }

  private done(s: StepSnapshot, output: unknown, history = s.history): StepSnapshot {
    return {
      ...s,
      history,
      status: 'done',
      output,
      error: undefined,
      phase: 'done',
      token: s.token + 1,
      deadline: undefined,
    };
  }

  private fail(s: StepSnapshot, message: string, code: StepErrorCode, cause?: SerializedError): StepSnapshot {
    // Scrubbed again: the message may come from a supervisor's or a human's abort reason.
    const error = this.env.scrub(
      failureOf(code, message, { stepPath: s.input.path, attempts: s.attempts, ...(cause ? { cause } : {}) }),
      s.input.workflowId,
    );
    this.log('warn', { step: s.input.path, err: error }, 'step failed');
    return {
      ...s,
      status: 'error',
      output: undefined,
      error,
      phase: 'failed',
      token: s.token + 1,
      deadline: undefined,
    };
  }
}
