import type { Logger } from 'pino';
import type { ActorLogic, AnyActorRef } from 'xstate';
import type { AgentContext, AgentRegistry, EscalationDecision } from '../model/agent.js';
import {
  CancelledError,
  failureOf,
  type SerializedError,
  type StepErrorCode,
  StepTimeoutError,
  serializeError,
} from '../model/errors.js';
import { scrubError } from '../model/scrub.js';
import { agentContext, callAgent } from './call-agent.js';
import { type Clock, scheduleAt } from './clock.js';
import { parseDecision } from './decision.js';
import { LazyAbort } from './lazy-abort.js';
import type { Learner } from './learn.js';
import { backoffDelay, isRetryable } from './retry.js';
import {
  type StepActorInput,
  type StepEvent,
  type StepSnapshot,
  type StepState,
  SUPERVISOR_ROUNDS,
} from './step-types.js';

/** What a step actor needs from its host: injected by the engine through `machine.provide`. */
export interface StepRuntime {
  readonly agents: AgentRegistry;
  readonly clock: Clock;
  readonly logger: Logger;
  /** For backoff jitter. @default Math.random */
  readonly random?: () => number;
  /** Where attempt outputs are journaled by idempotency key; without it nothing is journaled. */
  readonly journal?: StepJournal;
  /** Told when a step ends done or failed, for the ETA's history and the step list of a late watch. */
  readonly learner?: Learner;
  /**
   * The secret values of a run (by run id), scrubbed from agent errors before they reach the step's snapshot,
   * its log lines and the workflow's error. Without it, or with no secrets, errors are kept as thrown.
   */
  readonly secretsOf?: (runId: string) => ReadonlySet<string> | undefined;
}

/**
 * The step journal as a step actor uses it: an attempt looks up its idempotency key before calling its agent,
 * and its output is committed under that key before the workflow moves on.
 */
export interface StepJournal {
  get(key: string): Promise<{ readonly output: unknown } | undefined>;
  put(
    key: string,
    entry: {
      readonly runId: string;
      readonly stepPath: string;
      readonly attempt: number;
      readonly output: unknown;
    },
  ): Promise<void>;
  /**
   * `undefined` when agents may be called now; else a promise to wait on first (the engine's leases may have
   * expired: no new work until they are confirmed).
   */
  ready?(): Promise<void> | undefined;
}

/** The step actor logic, as XState sees it. */
export type StepLogic = ActorLogic<StepSnapshot, StepEvent, StepActorInput>;

interface Resources {
  controller?: LazyAbort | undefined;
  cancelTimers: Array<() => void>;
}

/**
 * The step actor: calls the agent with an AbortSignal and a per-attempt timeout, backs off and retries, switches
 * to the fallback agent, escalates to a supervisor agent or a human (waiting for `flowstate.decision` until a
 * deadline), and ends `done` with the output or `error` with a JSON-safe failure.
 *
 * It is a hand-written actor logic rather than a nested machine: its whole state is a plain snapshot with
 * absolute deadlines, so it persists and restores with its timers (XState's `after` does not, #5331), and it
 * costs about a third of a step machine per transition.
 */
export function createStepLogic(runtime: StepRuntime): StepLogic {
  const { clock, agents } = runtime;
  const random = runtime.random ?? Math.random;
  const resources = new WeakMap<AnyActorRef, Resources>();
  const { secretsOf } = runtime;
  /** The error without the run's secrets (itself when the run has none). */
  const scrub = (error: SerializedError, runId: string): SerializedError =>
    secretsOf ? scrubError(error, secretsOf(runId)) : error;

  const release = (self: AnyActorRef, reason?: unknown) => {
    const r = resources.get(self);
    if (!r) return;
    for (const cancel of r.cancelTimers) cancel();
    r.cancelTimers = [];
    r.controller?.abort(reason);
    r.controller = undefined;
  };

  /** Starts whatever the phase needs: an agent call and its timeout, or a timer to the deadline. */
  const arm = (s: StepSnapshot, self: AnyActorRef) => {
    release(self);
    if (s.status !== 'active') return;
    const r: Resources = resources.get(self) ?? { cancelTimers: [] };
    resources.set(self, r);
    const send = (event: StepEvent) => {
      if (self.getSnapshot().status === 'active') self.send(event);
    };
    const token = s.token;
    if (s.phase === 'running' || s.phase === 'supervising') {
      const controller = new LazyAbort();
      r.controller = controller;
      const { input } = s;
      const supervising = s.phase === 'supervising';
      const agentName = supervising ? (input.escalate?.to ?? '') : s.agent;
      const agentInput = supervising
        ? {
            step: input.path,
            agent: s.agent,
            input: input.input,
            attempts: s.attempts,
            error: s.history.at(-1)?.error,
          }
        : input.input;
      const ctx = agentContext(input, s.attempts, controller, runtime.logger);
      // A settled agent has nothing left to abort: forget its controller so cleanup does not fire its signal.
      const settled = () => {
        if (r.controller === controller) r.controller = undefined;
      };
      // A supervisor is an agent too: it waits at the lease gate like any call (see `StepJournal.ready`).
      const gate = supervising ? runtime.journal?.ready?.() : undefined;
      const attempt = gate
        ? gate.then(() => callAgent(agents, agentName, agentInput, ctx))
        : supervising || !runtime.journal
          ? callAgent(agents, agentName, agentInput, ctx)
          : journaled(s, self, ctx);
      attempt.then(
        (output) => {
          settled();
          send({ type: 'flowstate.step.settled', token, ok: true, output });
        },
        (error: unknown) => {
          settled();
          send({
            type: 'flowstate.step.settled',
            token,
            ok: false,
            error: scrub(serializeError(error), input.workflowId),
            retryable: isRetryable(error, input.retry),
          });
        },
      );
      if (supervising && s.deadline !== undefined) {
        // The supervisor answers within the escalation's deadline, like a human would.
        r.cancelTimers.push(
          scheduleAt(clock, s.deadline, () => send({ type: 'flowstate.step.timer', token })),
        );
      } else if (input.timeoutMs !== undefined) {
        r.cancelTimers.push(
          scheduleAt(clock, clock.now() + input.timeoutMs, () =>
            send({ type: 'flowstate.step.timeout', token }),
          ),
        );
      }
    } else if ((s.phase === 'backoff' || s.phase === 'escalated') && s.deadline !== undefined) {
      r.cancelTimers.push(scheduleAt(clock, s.deadline, () => send({ type: 'flowstate.step.timer', token })));
    }
  };

  /**
   * An attempt through the journal: a journaled output is returned without calling the agent (a restored run does
   * not redo finished work); a fresh output is committed before the step reports it, unless the attempt was
   * superseded meanwhile (timed out, stopped), so a stale attempt never wins.
   */
  async function journaled(s: StepSnapshot, self: AnyActorRef, ctx: AgentContext): Promise<unknown> {
    const journal = runtime.journal as StepJournal;
    // Only an attempt that was in flight when its run was persisted can have an entry: fresh attempts skip the read.
    if (s.restored) {
      const hit = await journal.get(ctx.idempotencyKey);
      if (hit) return hit.output;
    }
    const wait = journal.ready?.();
    if (wait) {
      await wait;
      const now = self.getSnapshot() as StepSnapshot;
      if (now.status !== 'active' || now.token !== s.token)
        throw new CancelledError('The attempt was superseded');
    }
    const output = await callAgent(agents, s.agent, s.input.input, ctx);
    const current = self.getSnapshot() as StepSnapshot;
    if (current.status === 'active' && current.token === s.token) {
      // The agent answered in time: a slow commit (the store busy or down) must not time the attempt out now.
      const r = resources.get(self);
      if (r) {
        for (const cancel of r.cancelTimers) cancel();
        r.cancelTimers = [];
      }
      await journal.put(ctx.idempotencyKey, {
        runId: s.input.workflowId,
        stepPath: s.input.path,
        attempt: s.attempts,
        output,
      });
    }
    return output;
  }

  const logic: StepLogic = {
    config: 'flowstate.step',
    getInitialSnapshot: (_scope, input) => {
      const startedAt = clock.now();
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
        startedAt,
        history: [{ attempt: 1, agent: input.agent, startedAt }],
      };
    },
    start: (snapshot, scope) => arm(snapshot, scope.self),
    transition: (s, event, scope) => {
      if (s.status !== 'active') return s;
      const next = step(s, event);
      if (next === s) return s;
      if (next.status === 'done' || next.status === 'error') runtime.learner?.stepEnded(next);
      if (event.type === 'xstate.stop') {
        release(scope.self, new CancelledError('The step was stopped', { stepPath: s.input.path }));
      } else if (next.token !== s.token) {
        const reason = event.type === 'flowstate.step.timeout' ? timeoutReason(s) : undefined;
        if (reason) release(scope.self, reason);
        scope.defer(() => arm(next, scope.self));
      }
      return next;
    },
    getPersistedSnapshot: (s) => s,
    restoreSnapshot: (s) => ({ ...(s as StepSnapshot), restored: true }),
  };

  /** The pure part: the next snapshot for an event. Side effects happen in `arm`, after the snapshot is committed. */
  function step(s: StepSnapshot, event: StepEvent): StepSnapshot {
    switch (event.type) {
      case 'xstate.stop':
        return { ...s, status: 'stopped', output: undefined, error: undefined };
      case 'flowstate.step.settled':
        if (event.token !== s.token) return s;
        if (s.phase === 'supervising') {
          if (!event.ok)
            return fail(s, `Supervisor '${s.input.escalate?.to}' failed`, 'STEP_FAILED', event.error);
          const decision = parseDecision(event.output);
          if (!decision) {
            return fail(s, `Supervisor '${s.input.escalate?.to}' returned no valid decision`, 'STEP_FAILED');
          }
          return decide(s, decision);
        }
        if (s.phase !== 'running') return s;
        if (event.ok) return done(s, event.output, endedHistory(s));
        return attemptFailed(endAttempt(s, event.error), event.error, event.retryable);
      case 'flowstate.step.timeout': {
        if (event.token !== s.token || s.phase !== 'running') return s;
        const error = serializeError(timeoutReason(s));
        return attemptFailed(endAttempt(s, error), error, isRetryable(error, s.input.retry));
      }
      case 'flowstate.step.timer':
        if (event.token !== s.token) return s;
        if (s.phase === 'backoff') return startAttempt(s, s.agent, s.attempt + 1);
        if (s.phase === 'escalated' || s.phase === 'supervising') return escalationTimedOut(s);
        return s;
      case 'flowstate.decision':
        return s.phase === 'escalated' ? decide(s, event.decision) : s;
    }
  }

  function startAttempt(s: StepSnapshot, agent: string, attempt: number): StepSnapshot {
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
      history: [...s.history, { attempt: attempts, agent, startedAt: clock.now() }],
    };
  }

  function endAttempt(s: StepSnapshot, error?: SerializedError): StepSnapshot {
    const history = endedHistory(s, error);
    return history === s.history ? s : { ...s, history };
  }

  /** The attempts with the last one ended now. */
  function endedHistory(s: StepSnapshot, error?: SerializedError): StepSnapshot['history'] {
    const last = s.history[s.history.length - 1];
    if (!last || last.endedAt !== undefined) return s.history;
    const ended = error ? { ...last, endedAt: clock.now(), error } : { ...last, endedAt: clock.now() };
    if (s.history.length === 1) return [ended];
    return [...s.history.slice(0, -1), ended];
  }

  function attemptFailed(s: StepSnapshot, error: SerializedError, retryable: boolean): StepSnapshot {
    const { input } = s;
    if (retryable && s.attempt < input.retry.attempts) {
      const delay = backoffDelay(input.retry, s.attempt, random);
      runtime.logger.debug(
        { step: input.path, attempt: s.attempts, delayMs: delay, err: error },
        'retry scheduled',
      );
      // From the instant the attempt ended (one clock read): the step log shows the backoff as exactly `delay`.
      const endedAt = s.history.at(-1)?.endedAt ?? clock.now();
      return { ...s, phase: 'backoff', token: s.token + 1, deadline: endedAt + delay };
    }
    if (input.fallback !== undefined && s.agent !== input.fallback) {
      runtime.logger.debug({ step: input.path, fallback: input.fallback }, 'switching to fallback agent');
      return startAttempt(s, input.fallback, 1);
    }
    if (input.escalate) {
      const { to, timeoutMs } = input.escalate;
      if (to === 'human') {
        runtime.logger.info({ step: input.path, to, err: error }, 'step escalated');
        return { ...s, phase: 'escalated', token: s.token + 1, deadline: clock.now() + timeoutMs };
      }
      // A supervisor agent may answer `retry` at once every time: its rounds share one deadline and a budget.
      const rounds = s.rounds ?? 0;
      if (rounds >= SUPERVISOR_ROUNDS) {
        return fail(
          s,
          `Step '${input.path}' still failed after supervisor '${to}' decided 'retry' ${rounds} times (at most ${SUPERVISOR_ROUNDS} supervisor rounds)`,
          'STEP_FAILED',
          error,
        );
      }
      const deadline = s.escalationDeadline ?? clock.now() + timeoutMs;
      if (clock.now() >= deadline) return escalationTimedOut(s);
      runtime.logger.info({ step: input.path, to, round: rounds + 1, err: error }, 'step escalated');
      return {
        ...s,
        phase: 'supervising',
        token: s.token + 1,
        deadline,
        escalationDeadline: deadline,
        rounds: rounds + 1,
      };
    }
    return fail(
      s,
      `Step '${input.path}' failed after ${s.attempts} attempt${s.attempts === 1 ? '' : 's'}`,
      'STEP_FAILED',
      error,
    );
  }

  function decide(s: StepSnapshot, decision: EscalationDecision): StepSnapshot {
    switch (decision.action) {
      case 'retry':
        return startAttempt(s, s.input.agent, 1);
      case 'skip':
        return done(s, decision.value ?? null);
      case 'abort':
        return fail(
          s,
          decision.reason ?? `Step '${s.input.path}' was aborted on escalation`,
          'STEP_FAILED',
          s.history.at(-1)?.error,
        );
    }
  }

  /** The escalation's deadline passed: `onTimeout` applies. */
  function escalationTimedOut(s: StepSnapshot): StepSnapshot {
    const escalate = s.input.escalate;
    if (escalate?.onTimeout === 'skip') return done(s, null);
    const rounds = s.rounds ?? 0;
    return fail(
      s,
      `Escalation of step '${s.input.path}' got no decision within ${escalate?.timeoutMs} ms${rounds > 1 ? ` (over ${rounds} supervisor rounds)` : ''}`,
      'ESCALATION_TIMEOUT',
    );
  }

  function done(s: StepSnapshot, output: unknown, history = s.history): StepSnapshot {
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

  function fail(
    s: StepSnapshot,
    message: string,
    code: StepErrorCode,
    cause?: SerializedError,
  ): StepSnapshot {
    // Scrubbed again: the message may come from a supervisor's or a human's abort reason.
    const error = scrub(
      failureOf(code, message, { stepPath: s.input.path, attempts: s.attempts, ...(cause ? { cause } : {}) }),
      s.input.workflowId,
    );
    runtime.logger.warn({ step: s.input.path, err: error }, 'step failed');
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

  function timeoutReason(s: StepState): StepTimeoutError {
    return new StepTimeoutError(s.input.timeoutMs ?? 0, { stepPath: s.input.path, attempts: s.attempts });
  }

  return logic;
}
