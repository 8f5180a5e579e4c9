import type { Actor, AnyStateMachine } from 'xstate';
import type { WorkflowOutcome } from '../machine/context.js';
import type { WorkflowDefinition } from '../model/definition.js';
import { CancelledError, FlowstateError, OutputValidationError } from '../model/errors.js';
import { parseWith } from '../model/validation.js';
import { toFlowstateError } from './outcome.js';

/**
 * A run's result as the run keeps it: an outcome stored when it settles, and a promise only once someone reads
 * `run.result` (most runs are never awaited while they live; a promise and its two resolving functions are about
 * 200 bytes for as long as a run lives).
 */

/** The rejection handler of a result nobody awaits. */
const ignore = () => {};

/**
 * @internal What the engine did when a run's actor ended, which its result waits for: nothing (`undefined`), the
 * commit of its final state (resolving to an error that overrides the outcome, e.g. when another engine owns the
 * run now), or `'passivated'`: not an end, the result stays pending (a copy woken later settles it).
 */
export type RunEnd = Promise<FlowstateError | undefined> | undefined | 'passivated';

/** How a run's result settled: its output, or the error it rejects with. */
export type Settled =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown };

/** A result read before the run settled: its promise, and how to settle it. */
export interface PendingResult<O> {
  readonly promise: Promise<O>;
  /** Takes the output (typed by the run's definition, not here: a run is read as `WorkflowRun<unknown>` too). */
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/** The actor ended; the result waits for the engine (see {@link RunEnd}) before it settles. */
export const ENDING = 'ending';

/** The result of a run that settled before anyone read it. Never an unhandled rejection. */
export function settledResult<O>(settled: Settled): Promise<O> {
  const promise = settled.ok ? Promise.resolve(settled.value as O) : Promise.reject(settled.error);
  promise.catch(ignore);
  return promise;
}

/** The result of a run read before it settled. */
export function pendingResult<O>(): PendingResult<O> {
  let resolve: (value: unknown) => void = ignore;
  let reject: (error: unknown) => void = ignore;
  const promise = new Promise<O>((yes, no) => {
    resolve = yes as (value: unknown) => void;
    reject = no;
  });
  return { promise, resolve, reject };
}

/** Settles a result read before the run settled. The caller may never await it: a failure is handled here. */
export function settlePending(pending: PendingResult<unknown>, settled: Settled): void {
  if (settled.ok) {
    pending.resolve(settled.value);
    return;
  }
  pending.promise.catch(ignore);
  pending.reject(settled.error);
}

/**
 * How a run ended, from its actor's final state: its output (checked by the definition's output schema, if any),
 * or the error it rejects with. `failure` if the actor stopped on an error its machine did not handle.
 */
export function outcomeOf(
  run: {
    readonly id: string;
    readonly actor: Actor<AnyStateMachine>;
    readonly definition: WorkflowDefinition<unknown, unknown>;
  },
  failure: { readonly cause: unknown } | undefined,
): Settled {
  const { id } = run;
  if (failure) {
    const error = new FlowstateError('INTERNAL', `Run '${id}' stopped on an unexpected error`, {
      cause: failure.cause,
      workflowId: id,
    });
    return { ok: false, error };
  }
  const outcome = run.actor.getSnapshot().output as WorkflowOutcome | undefined;
  // An actor stopped from outside (`run.actor.stop()`) ends without an outcome.
  if (!outcome) return { ok: false, error: new CancelledError('The run was stopped', { workflowId: id }) };
  if (outcome.status !== 'done') return { ok: false, error: toFlowstateError(outcome.error, id) };
  const schema = run.definition.spec.options.output;
  if (!schema) return { ok: true, value: outcome.output };
  const parsed = parseWith(schema, outcome.output);
  return parsed.ok
    ? { ok: true, value: parsed.value }
    : { ok: false, error: new OutputValidationError(parsed.issues, { workflowId: id }) };
}
