import { type AnyEventObject, assign, enqueueActions } from 'xstate';
import { serializeError } from '../model/errors.js';
import type { MachineContext } from './context.js';

/** What the compiled machine's actions are built from: a context update from the context and the event. */
export type Update = (context: MachineContext, event: AnyEventObject) => Partial<MachineContext>;

/** An XState `assign` from an {@link Update}. */
// biome-ignore lint/suspicious/noExplicitAny: the compiler assembles configs dynamically; XState's action generics cannot follow
export function update(fn: Update): any {
  return assign(({ context, event }: { context: MachineContext; event: AnyEventObject }) =>
    fn(context, event),
  );
}

/** Stores a step's result under its name. */
export function storeResult(
  name: string,
  compensable: boolean,
  value: (event: AnyEventObject) => unknown,
): Update {
  // Two plain literals rather than one with a spread of `{}`: this runs at the end of every step.
  if (!compensable) return (context, event) => ({ results: { ...context.results, [name]: value(event) } });
  return (context, event) => ({
    results: { ...context.results, [name]: value(event) },
    completed: [...context.completed, name],
  });
}

/** Marks a failed step as skipped: its result is `null`. */
export function skipResult(name: string): Update {
  return (context) => ({
    results: { ...context.results, [name]: null },
    skipped: [...context.skipped, name],
  });
}

/** Records the failure that ends the run, or (inside a `failFast: false` parallel step) the region's failure. */
export function recordFailure(
  pendingKey: string | undefined,
  errorOf: (event: AnyEventObject, context: MachineContext) => unknown,
): Update {
  return (context, event) => {
    const error = serializeError(errorOf(event, context));
    if (pendingKey === undefined) return { error };
    return context.pending[pendingKey] ? {} : { pending: { ...context.pending, [pendingKey]: error } };
  };
}

/** The subset of XState's action enqueuer the compiler uses. */
export interface Enqueue {
  spawnChild(src: string, options: { id: string; input: unknown }): void;
  stopChild(id: string): void;
  assign(update: Partial<MachineContext>): void;
}

/** An XState `enqueueActions` typed for the compiled machine. */
export function dynamic(
  fn: (args: { context: MachineContext; event: AnyEventObject; enqueue: Enqueue }) => void,
  // biome-ignore lint/suspicious/noExplicitAny: see `update`
): any {
  return enqueueActions(fn as never);
}
