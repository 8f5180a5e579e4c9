import type { Observable } from 'rxjs';
import type { Actor, AnyStateMachine } from 'xstate';
import { handwrittenMachineOf } from '../dsl/handwritten.js';
import { activeWaits, actorTree, findStepActor, isStepSnapshot } from '../machine/actor-tree.js';
import type { WorkflowOutcome } from '../machine/context.js';
import { decisionIssues, parseDecision } from '../machine/decision.js';
import type { EscalationDecision } from '../model/agent.js';
import type { WorkflowDefinition } from '../model/definition.js';
import {
  CancelledError,
  ConfigurationError,
  FlowstateError,
  InputValidationError,
  OutputValidationError,
} from '../model/errors.js';
import { isReservedEventType } from '../model/names.js';
import { parseWith } from '../model/validation.js';
import type { RunStatus } from '../persistence/types.js';
import type { StepLogEvent } from '../progress/events.js';
import type { Progress } from '../progress/progress.js';
import { trackProgress, trackStepEvents } from '../progress/track.js';
import type { Binder } from './bind.js';
import { toFlowstateError } from './outcome.js';

export type { RunStatus } from '../persistence/types.js';

/** The rejection handler of a result nobody awaits. */
const ignore = () => {};

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
  /** The typed output, or a rejection with a typed `FlowstateError`. Never an unhandled rejection. */
  readonly result: Promise<O>;
  #settled = false;
  #abandon: (error: FlowstateError) => void = () => {};
  #resolve: (output: unknown) => void = () => {};
  /**
   * Once this copy is passivated: where the run is as far as this object knows. Its actor is stopped (it would read
   * `cancelled`), so the copy woken here and followed, or else the state it was passivated in.
   */
  #elsewhere: WorkflowRun | { readonly status: RunStatus; readonly waiting: string[] } | undefined;
  /** `progress$` and `events$`, made on first read: the run holds its own streams (no registry keyed by actor). */
  private progressStream: Observable<Progress> | undefined;
  private eventStream: Observable<StepLogEvent> | undefined;

  /** @internal created by the engine */
  constructor(
    readonly id: string,
    readonly definition: WorkflowDefinition<unknown, O>,
    /** The running XState actor: subscribe to it, inspect it, persist it. */
    readonly actor: Actor<AnyStateMachine>,
    private readonly binder: Binder,
    /**
     * Told when the actor ends. With a store it returns the commit of the final state: the result settles only
     * after it (rejecting with the error it resolves to, if any, e.g. when another engine owns the run now).
     */
    onSettled: () => Promise<FlowstateError | undefined> | undefined,
  ) {
    // The caller may never await the result, so a failed run must not become an unhandled rejection. The handler
    // is attached when the run fails, not here: a promise, its reaction and a closure (~150 B) on every live run.
    let failedEarly = false;
    this.result = new Promise<O>((resolve, rejectResult) => {
      const reject = (error: unknown) => {
        if (this.result) void this.result.catch(ignore);
        else failedEarly = true;
        rejectResult(error);
      };
      this.#abandon = reject;
      this.#resolve = resolve as (output: unknown) => void;
      const settle = (finish: () => void) => {
        this.#settled = true;
        const committed = onSettled();
        if (!committed) return finish();
        committed.then((override) => (override ? reject(override) : finish()), reject);
      };
      actor.subscribe({
        complete: () =>
          settle(() => {
            const outcome = actor.getSnapshot().output as WorkflowOutcome | undefined;
            // An actor stopped from outside (`run.actor.stop()`) ends without an outcome.
            if (!outcome) return reject(new CancelledError('The run was stopped', { workflowId: id }));
            if (outcome.status !== 'done') return reject(toFlowstateError(outcome.error, id));
            const schema = definition.spec.options.output;
            if (!schema) return resolve(outcome.output as O);
            const parsed = parseWith(schema, outcome.output);
            if (parsed.ok) resolve(parsed.value as O);
            else reject(new OutputValidationError(parsed.issues, { workflowId: id }));
          }),
        error: (cause) =>
          settle(() =>
            reject(
              new FlowstateError('INTERNAL', `Run '${id}' stopped on an unexpected error`, {
                cause,
                workflowId: id,
              }),
            ),
          ),
      });
    });
    if (failedEarly) void this.result.catch(ignore);
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
    this.progressStream ??= trackProgress(this.actor);
    return this.progressStream;
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
    this.eventStream ??= trackStepEvents(this.actor);
    return this.eventStream;
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

  /** Paths of the steps waiting on a human now: escalated steps and `waitFor` steps. */
  waitingSteps(): string[] {
    const elsewhere = this.#elsewhere;
    if (elsewhere)
      return elsewhere instanceof WorkflowRun ? elsewhere.waitingSteps() : [...elsewhere.waiting];
    const paths: string[] = [];
    for (const actor of actorTree(this.actor)) {
      const s = actor.getSnapshot();
      if (isStepSnapshot(s) && s.status === 'active' && s.phase === 'escalated') paths.push(s.input.path);
    }
    for (const wait of activeWaits(this.actor)) {
      const prefix =
        (wait.actor.getSnapshot() as { context?: { pathPrefix?: string } }).context?.pathPrefix ?? '';
      paths.push(prefix + wait.name);
    }
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
        ? 'the run is passivated: decide it with engine.resolveEscalation(run.id, ...)'
        : isStepSnapshot(snapshot)
          ? `it is ${snapshot.phase}`
          : 'no such step is running';
      throw new ConfigurationError(`Step '${stepPath}' is not waiting for a decision (${where})`, {
        workflowId: this.id,
        stepPath,
      });
    }
    actor.send({ type: 'flowstate.decision', decision: valid });
  }

  /** @internal Ends a run that never started (its id was taken in the store): the result rejects with `error`. */
  abandon(error: FlowstateError): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#abandon(error);
  }

  /** @internal This copy is about to be passivated (its actor stopped): it keeps telling where the run was. */
  passivate(): void {
    this.#elsewhere = { status: this.status, waiting: this.waitingSteps() };
  }

  /**
   * @internal This run was passivated and is woken as `next`: its result settles as the woken copy's does, and its
   * status and waiting steps are the woken copy's.
   */
  follow(next: WorkflowRun<O>): void {
    this.#elsewhere = next;
    next.result.then(this.#resolve, this.#abandon);
  }

  /** Cancels the run: every running agent's AbortSignal fires and the run ends `cancelled`. No-op once it ended. */
  cancel(reason?: string): void {
    if (this.#elsewhere instanceof WorkflowRun) {
      this.#elsewhere.cancel(reason);
      return;
    }
    // Passivated: its actor is stopped; `engine.cancel(run.id)` wakes and cancels it.
    if (this.#settled || this.#elsewhere) return;
    this.actor.send({ type: 'flowstate.cancel', ...(reason !== undefined ? { reason } : {}) });
  }
}
