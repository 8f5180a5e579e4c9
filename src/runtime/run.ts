import type { Observable } from 'rxjs';
import type { Actor, AnyStateMachine } from 'xstate';
import { handwrittenMachineOf } from '../dsl/handwritten.js';
import { activeWaits, actorTree, findStepActor, isStepSnapshot } from '../machine/actor-tree.js';
import type { WorkflowOutcome } from '../machine/context.js';
import { decisionIssues, parseDecision } from '../machine/decision.js';
import type { EscalationDecision } from '../model/agent.js';
import type { WorkflowDefinition } from '../model/definition.js';
import { ConfigurationError, type FlowstateError, InputValidationError } from '../model/errors.js';
import { isReservedEventType } from '../model/names.js';
import { parseWith } from '../model/validation.js';
import type { RunStatus } from '../persistence/types.js';
import { eventWaits } from '../progress/event-waits.js';
import type { StepLogEvent } from '../progress/events.js';
import type { Progress } from '../progress/progress.js';
import { trackProgress, trackStepEvents } from '../progress/track.js';
import type { Binder } from './bind.js';
import {
  ENDING,
  outcomeOf,
  type PendingResult,
  pendingResult,
  type RunEnd,
  type Settled,
  settledResult,
  settlePending,
} from './run-result.js';

export type { RunStatus } from '../persistence/types.js';

/** What few runs need beside their fields: a passivated copy's forwarding, and the streams someone read. */
interface RunExtras {
  elsewhere?: WorkflowRun | { readonly status: RunStatus; readonly waiting: string[] } | undefined;
  /** `progress$` and `events$`, made on first read: the run holds its own streams (no registry keyed by actor). */
  progress?: Observable<Progress>;
  events?: Observable<StepLogEvent>;
}

/** An event for a `waitFor` step: its `type`, and its payload as the other fields. */
export interface WorkflowEvent {
  /**
   * Matched against the `event` of the waiting `waitFor` steps. Types starting with `xstate.` or `flowstate.`, and
   * `*`, are reserved: `send` throws a `ConfigurationError` for them.
   */
  readonly type: string;
  readonly [key: string]: unknown;
}

/**
 * One run of a workflow, as `engine.start` returns it.
 *
 * @example
 * ```ts
 * const run = engine.start(wf, { table: 'orders' });
 * run.resolveEscalation('review', { action: 'skip', value: { approved: false } });
 * const output = await run.result;
 * ```
 */
export class WorkflowRun<O = unknown> {
  /**
   * Where the result is: `undefined` while the actor runs, {@link ENDING} once it ended, then how it settled.
   * Kept instead of a promise: most runs are never awaited while they live, and a promise with its two resolving
   * functions is about 200 bytes for as long as a run lives.
   */
  #settled: Settled | typeof ENDING | undefined;
  /** The result as read: made on first read of `result`, settled with the run. */
  #result: Promise<O> | PendingResult<O> | undefined;
  /** What few runs need, in one field made on first need (a field is 8 bytes on every live run). */
  #extras: RunExtras | undefined;

  /**
   * @internal created by the engine, which observes the actor and tells the run when it ended
   * ({@link WorkflowRun.settle}).
   */
  constructor(
    readonly id: string,
    readonly definition: WorkflowDefinition<unknown, O>,
    /** The running XState actor: subscribe to it, inspect it, persist it. */
    readonly actor: Actor<AnyStateMachine>,
    private readonly binder: Binder,
  ) {}

  /**
   * Once this copy is passivated: where the run is as far as this object knows. Its actor is stopped (it would read
   * `cancelled`), so the copy woken here and followed, or else the state it was passivated in.
   */
  get #elsewhere(): RunExtras['elsewhere'] {
    return this.#extras?.elsewhere;
  }

  set #elsewhere(where: RunExtras['elsewhere']) {
    this.#extras ??= {};
    this.#extras.elsewhere = where;
  }

  /**
   * The typed output, or a rejection with a typed `FlowstateError`. Never an unhandled rejection. The same promise
   * on every read.
   */
  get result(): Promise<O> {
    const made = this.#result;
    if (made) return made instanceof Promise ? made : made.promise;
    const settled = this.#settled;
    if (settled !== undefined && settled !== ENDING) {
      const promise = settledResult<O>(settled);
      this.#result = promise;
      return promise;
    }
    const pending = pendingResult<O>();
    this.#result = pending;
    // A passivated copy woken here settles as the woken copy does.
    const next = this.#elsewhere;
    if (next instanceof WorkflowRun) this.#follow(next);
    return pending.promise;
  }

  /**
   * @internal The run's actor ended: its result settles from the actor's final state once `end` allows it (the
   * engine's bookkeeping is done by then). `failure` if the actor stopped on an error its machine did not handle.
   */
  settle(end: RunEnd, failure?: { readonly cause: unknown }): void {
    if (this.#settled !== undefined) return;
    this.#settled = ENDING;
    if (end === 'passivated') return;
    if (!end) {
      this.#finish(outcomeOf(this, failure));
      return;
    }
    end.then(
      (override) => this.#finish(override ? { ok: false, error: override } : outcomeOf(this, failure)),
      (error: unknown) => this.#finish({ ok: false, error }),
    );
  }

  /** Settles the result, once: the promise, if someone read it already, else what a first read will return. */
  #finish(settled: Settled): void {
    const was = this.#settled;
    if (was !== undefined && was !== ENDING) return;
    this.#settled = settled;
    const made = this.#result;
    if (!made || made instanceof Promise) return;
    // The resolving functions are not needed any more.
    this.#result = made.promise;
    settlePending(made, settled);
  }

  /** This copy's result, if pending, settles as `next`'s does. */
  #follow(next: WorkflowRun): void {
    if (!(this.#result && !(this.#result instanceof Promise))) return;
    next.result.then(
      (value) => this.#finish({ ok: true, value }),
      (error: unknown) => this.#finish({ ok: false, error }),
    );
  }

  /**
   * Live progress: steps, percent and ETA, at once and then on every change (throttled by the engine's
   * `progress.throttleMs`, never holding back a failure or the end); completes when the run ends.
   *
   * @example
   * ```ts
   * run.progress$.subscribe((p) => console.log(`${p.percent}% ETA ${p.eta.remainingMs} ms`));
   * ```
   */
  get progress$(): Observable<Progress> {
    this.#extras ??= {};
    this.#extras.progress ??= trackProgress(this.actor);
    return this.#extras.progress;
  }

  /**
   * The step log: each step so far (its start, and its end if it ended), then every step event as it happens;
   * completes when the run ends.
   *
   * @example
   * ```ts
   * run.events$.subscribe((e) => console.log(e.path, e.type));
   * ```
   */
  get events$(): Observable<StepLogEvent> {
    this.#extras ??= {};
    this.#extras.events ??= trackStepEvents(this.actor);
    return this.#extras.events;
  }

  /** Where the run is now. */
  get status(): RunStatus {
    if (this.#elsewhere) return this.#elsewhere.status;
    const snapshot = this.actor.getSnapshot();
    if (snapshot.status === 'done')
      return (snapshot.output as WorkflowOutcome | undefined)?.status ?? 'cancelled';
    if (snapshot.status === 'stopped') return 'cancelled';
    if (snapshot.status === 'error') return 'failed';
    return this.waitingSteps().length > 0 ? 'waiting' : 'running';
  }

  /**
   * Paths of the steps waiting on a human now: escalated steps and `waitFor` steps, and a hand-written machine's
   * states waiting for an event.
   */
  waitingSteps(): string[] {
    const elsewhere = this.#elsewhere;
    if (elsewhere)
      return elsewhere instanceof WorkflowRun ? elsewhere.waitingSteps() : [...elsewhere.waiting];
    const paths = this.escalatedSteps();
    for (const wait of activeWaits(this.actor)) {
      const prefix =
        (wait.actor.getSnapshot() as { context?: { pathPrefix?: string } }).context?.pathPrefix ?? '';
      paths.push(prefix + wait.name);
    }
    // A hand-written machine's state that takes an outside event with nothing invoked waits too (handwritten.md).
    if (handwrittenMachineOf(this.definition)) paths.push(...eventWaits(this.actor.getSnapshot()));
    return paths;
  }

  /**
   * Delivers an event to the `waitFor` steps waiting for its type; returns whether any took it. A payload that
   * fails the step's schema throws an `InputValidationError` and changes nothing. A hand-written machine's run
   * delivers it to the machine (see docs/handwritten.md): whether it took it is whether its state changed.
   */
  send(event: WorkflowEvent): boolean {
    if (typeof event?.type !== 'string' || isReservedEventType(event.type)) {
      throw new ConfigurationError(
        `Expected an event with a non-reserved string \`type\`, got ${JSON.stringify(event?.type)}`,
        { workflowId: this.id },
      );
    }
    // A copy passivated and woken again here passes the event to the woken copy; passivated, nothing waits here.
    if (this.#elsewhere) return this.#elsewhere instanceof WorkflowRun && this.#elsewhere.send(event);
    const waits = activeWaits(this.actor).filter((w) => w.event === event.type);
    for (const wait of waits) {
      const owner = this.binder.definitionOf((wait.actor as { logic?: unknown }).logic);
      const schema = owner ? this.binder.waitNode(owner, wait.name)?.schema : undefined;
      if (!schema) continue;
      const { type: _type, ...payload } = event;
      const parsed = parseWith(schema, payload);
      if (!parsed.ok)
        throw new InputValidationError('event', parsed.issues, { workflowId: this.id, stepPath: wait.name });
    }
    for (const actor of new Set(waits.map((w) => w.actor))) actor.send(event);
    if (waits.length === 0 && handwrittenMachineOf(this.definition)) {
      // A hand-written machine takes its own events at its root; it took one if its state changed (XState keeps
      // the snapshot object when no transition is enabled).
      const before = this.actor.getSnapshot();
      this.actor.send(event);
      return this.actor.getSnapshot() !== before;
    }
    return waits.length > 0;
  }

  /** Paths of the steps escalated to a human now (what a decision can address). */
  private escalatedSteps(): string[] {
    const paths: string[] = [];
    for (const actor of actorTree(this.actor)) {
      const s = actor.getSnapshot();
      if (isStepSnapshot(s) && s.status === 'active' && s.phase === 'escalated') paths.push(s.input.path);
    }
    return paths;
  }

  /**
   * Decides an escalated step: `retry` it, `skip` it with a value as its result, or `abort` it.
   * Throws a `ConfigurationError` if the step is not waiting for a decision, an `InputValidationError` for a bad one.
   */
  resolveEscalation(stepPath: string, decision: EscalationDecision): void {
    const valid = parseDecision(decision);
    if (!valid) {
      // Explained with the issues zod's schema of a decision would give (paths, codes, messages).
      throw new InputValidationError('event', decisionIssues(decision), { workflowId: this.id, stepPath });
    }
    if (this.#elsewhere instanceof WorkflowRun) {
      this.#elsewhere.resolveEscalation(stepPath, valid);
      return;
    }
    const actor = this.#elsewhere ? undefined : findStepActor(this.actor, stepPath);
    const snapshot = actor?.getSnapshot();
    if (
      !actor ||
      !isStepSnapshot(snapshot) ||
      snapshot.status !== 'active' ||
      snapshot.phase !== 'escalated'
    ) {
      const where = this.#elsewhere
        ? 'this copy no longer runs it (passivated, or handed over to another engine): decide it with engine.resolveEscalation(run.id, ...)'
        : isStepSnapshot(snapshot)
          ? `it is ${snapshot.phase}`
          : `no such step is running; steps waiting for a decision: ${this.escalatedSteps().join(', ') || 'none'}`;
      throw new ConfigurationError(`Step '${stepPath}' is not waiting for a decision (${where})`, {
        workflowId: this.id,
        stepPath,
      });
    }
    actor.send({ type: 'flowstate.decision', decision: valid });
  }

  /** @internal Ends a run that never started (its id was taken in the store): the result rejects with `error`. */
  abandon(error: FlowstateError): void {
    if (this.#settled === undefined) this.#finish({ ok: false, error });
  }

  /**
   * @internal This copy is about to be passivated, or handed over to another engine (its actor stopped): it keeps
   * telling where the run was (`as`: where it is when that is not what its actor says, a run claimed, not started).
   */
  passivate(as?: { readonly status: RunStatus; readonly waiting: string[] }): void {
    this.#elsewhere = as ?? { status: this.status, waiting: this.waitingSteps() };
  }

  /**
   * @internal This run was passivated and is woken as `next`: its result settles as the woken copy's does, and its
   * status and waiting steps are the woken copy's.
   */
  follow(next: WorkflowRun<O>): void {
    this.#elsewhere = next;
    this.#follow(next);
  }

  /** Cancels the run: every running agent's AbortSignal fires and the run ends `cancelled`. No-op once it ended. */
  cancel(reason?: string): void {
    if (this.#elsewhere instanceof WorkflowRun) {
      this.#elsewhere.cancel(reason);
      return;
    }
    // Passivated: its actor is stopped; `engine.cancel(run.id)` wakes and cancels it.
    if (this.#settled !== undefined || this.#elsewhere) return;
    this.actor.send({ type: 'flowstate.cancel', ...(reason !== undefined ? { reason } : {}) });
  }
}
