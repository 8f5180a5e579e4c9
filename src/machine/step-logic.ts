import type { Logger } from 'pino';
import type { ActorLogic, AnyActorRef } from 'xstate';
import type { AgentContext, AgentRegistry } from '../model/agent.js';
import { CancelledError, serializeError } from '../model/errors.js';
import { scrubError } from '../model/scrub.js';
import { agentContext, callAgent } from './call-agent.js';
import { type Clock, scheduleAt } from './clock.js';
import { LazyAbort } from './lazy-abort.js';
import type { Learner } from './learn.js';
import { isRetryable, retryAfterOf } from './retry.js';
import { initialStep, type StepEnv, stepTransition } from './step-transition.js';
import type { StepActorInput, StepEvent, StepSnapshot } from './step-types.js';
import { type AgentTransport, routeOf } from './transport.js';

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
  /** Runs the attempts of steps on a queue elsewhere (`flowstate/bullmq`). @default none: every agent runs here */
  readonly transport?: AgentTransport;
  /** The queue of steps that name none, when there is a transport. @default none: such steps run here */
  readonly defaultQueue?: string;
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
  /**
   * The journaled outputs of a run whose step path starts with `stepPathPrefix`, in one read (a restored map reads
   * its ended items' results back with it). Optional: without it a map keeps its results in its snapshot.
   */
  list?(runId: string, stepPathPrefix: string): Promise<readonly JournaledOutput[]>;
}

/** A journaled output as {@link StepJournal.list} returns it: its key and step path, its output parsed. */
export interface JournaledOutput {
  readonly key: string;
  readonly stepPath: string;
  readonly attempt: number;
  readonly output: unknown;
}

/** The journal each step logic was created with, for the map logic that hosts its items. */
const journals = new WeakMap<object, StepJournal>();

/** The journal a step logic made by {@link createStepLogic} journals through, if it has one. */
export function journalOf(stepLogic: object): StepJournal | undefined {
  return journals.get(stepLogic);
}

/** The step actor logic, as XState sees it. */
export type StepLogic = ActorLogic<StepSnapshot, StepEvent, StepActorInput>;

interface Resources {
  controller?: LazyAbort | undefined;
  /** Made when the first timer is (most attempts have no timeout). */
  cancelTimers?: Array<() => void> | undefined;
}

/**
 * Where a step actor's attempt resources are kept: on the actor object itself, under a private symbol (XState never
 * reads it; JSON, `Object.keys` and `for...in` skip symbols), and gone with the actor. A `WeakMap` keyed by actor was
 * about 5% of a step and of a start (measured: an insert per step actor into an ephemeron table that the GC sweeps).
 */
const RESOURCES = Symbol('flowstate.step.resources');

/** A step actor (or a map item standing in for one) as the step logic sees it. */
type StepSelf = AnyActorRef & { [RESOURCES]?: Resources };

/** Sends an event to a step actor unless it ended meanwhile (a late agent result, a timer that lost its race). */
function sendIfActive(self: AnyActorRef, event: StepEvent): void {
  if (self.getSnapshot().status === 'active') self.send(event);
}

/** Adds a timer's cancel function to the resources of an attempt. */
function addTimer(r: Resources, cancel: () => void): void {
  r.cancelTimers ??= [];
  r.cancelTimers.push(cancel);
}

/** Cancels the timers of an attempt. */
function cancelTimers(r: Resources): void {
  const timers = r.cancelTimers;
  if (!timers) return;
  r.cancelTimers = undefined;
  for (const cancel of timers) cancel();
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
  const { secretsOf } = runtime;
  const env: StepEnv = {
    now: () => clock.now(),
    random,
    scrub: (error, runId) => (secretsOf ? scrubError(error, secretsOf(runId)) : error),
  };

  const release = (self: AnyActorRef, reason?: unknown) => {
    const r = (self as StepSelf)[RESOURCES];
    if (!r) return;
    cancelTimers(r);
    r.controller?.abort(reason);
    r.controller = undefined;
  };

  /** Starts whatever the phase needs: an agent call and its timeout, or a timer to the deadline. */
  const arm = (s: StepSnapshot, self: AnyActorRef) => {
    release(self);
    if (s.status !== 'active') return;
    let r = (self as StepSelf)[RESOURCES];
    if (!r) {
      r = {};
      (self as StepSelf)[RESOURCES] = r;
    }
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
      const held = r;
      // A supervisor is an agent too: it waits at the lease gate like any call (see `StepJournal.ready`).
      const gate = supervising ? runtime.journal?.ready?.() : undefined;
      const attempt = gate
        ? gate.then(() => callAgent(agents, agentName, agentInput, ctx))
        : supervising || !runtime.journal
          ? callAgent(agents, agentName, agentInput, ctx, supervising ? undefined : routeOf(runtime, input))
          : journaled(s, self, ctx);
      // A settled agent has nothing left to abort: its controller is forgotten so cleanup does not fire its signal.
      attempt.then(
        (output) => {
          if (held.controller === controller) held.controller = undefined;
          const { usage } = ctx;
          sendIfActive(self, {
            type: 'flowstate.step.settled',
            token,
            ok: true,
            output,
            ...(usage ? { usage } : {}),
          });
        },
        (error: unknown) => {
          if (held.controller === controller) held.controller = undefined;
          const { usage } = ctx;
          const retryAfterMs = retryAfterOf(error);
          sendIfActive(self, {
            type: 'flowstate.step.settled',
            token,
            ok: false,
            error: env.scrub(serializeError(error), input.workflowId),
            retryable: isRetryable(error, input.retry),
            ...(usage ? { usage } : {}),
            ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
          });
        },
      );
      if (supervising && s.deadline !== undefined) {
        // The supervisor answers within the escalation's deadline, like a human would.
        addTimer(
          r,
          scheduleAt(clock, s.deadline, () => sendIfActive(self, { type: 'flowstate.step.timer', token })),
        );
      } else if (input.timeoutMs !== undefined) {
        addTimer(
          r,
          scheduleAt(clock, clock.now() + input.timeoutMs, () =>
            sendIfActive(self, { type: 'flowstate.step.timeout', token }),
          ),
        );
      }
    } else if ((s.phase === 'backoff' || s.phase === 'escalated') && s.deadline !== undefined) {
      addTimer(
        r,
        scheduleAt(clock, s.deadline, () => sendIfActive(self, { type: 'flowstate.step.timer', token })),
      );
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
    const output = await callAgent(agents, s.agent, s.input.input, ctx, routeOf(runtime, s.input));
    const current = self.getSnapshot() as StepSnapshot;
    if (current.status === 'active' && current.token === s.token) {
      // The agent answered in time: a slow commit (the store busy or down) must not time the attempt out now.
      const r = (self as StepSelf)[RESOURCES];
      if (r) cancelTimers(r);
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
    getInitialSnapshot: (_scope, input) => initialStep(input, clock.now()),
    start: (snapshot, scope) => arm(snapshot, scope.self),
    transition: (s, event, scope) => {
      const { snapshot: next, effects } = stepTransition(s, event, env);
      for (const effect of effects) {
        switch (effect.type) {
          case 'log':
            runtime.logger[effect.level](effect.fields, effect.message);
            break;
          case 'ended':
            runtime.learner?.stepEnded(next);
            break;
          case 'release':
            release(scope.self, effect.reason);
            break;
          case 'arm':
            scope.defer(() => arm(next, scope.self));
            break;
        }
      }
      return next;
    },
    getPersistedSnapshot: (s) => s,
    restoreSnapshot: (s) => ({ ...(s as StepSnapshot), restored: true }),
  };
  if (runtime.journal) journals.set(logic, runtime.journal);
  return logic;
}
