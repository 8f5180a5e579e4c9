import type { SerializedError } from '../model/errors.js';

/** How a run ended, as the machine's output. */
export type WorkflowOutcome =
  | { readonly status: 'done'; readonly output: unknown }
  | {
      readonly status: 'failed' | 'compensated';
      readonly error: SerializedError;
      readonly compensationErrors?: readonly SerializedError[];
    }
  | { readonly status: 'cancelled'; readonly error: SerializedError };

/**
 * Where a `map` is: the items started, running and finished. A running map keeps it in its map actor; the context
 * has it while a map compiled for the path model runs, and where a map that did not finish left off (the results of
 * its finished items, which their compensations receive).
 */
export interface MapProgress {
  readonly total: number;
  /** The index of the next item to start. */
  readonly next: number;
  /** Indexes of the items running now. */
  readonly running: readonly number[];
  /** Results so far, in item order (`null` until an item finishes). */
  readonly results: readonly unknown[];
  /** The items, evaluated once when the map starts. */
  readonly items: readonly unknown[];
}

/**
 * The context of a compiled workflow machine. Users see `input` and `results` (the {@link WorkflowContext});
 * the rest is the engine's bookkeeping, JSON-safe like everything in a snapshot.
 */
export interface MachineContext {
  readonly workflowId: string;
  /** Prefix of step paths: `''` for a root run, `'parentStep/'` for a child workflow. */
  readonly pathPrefix: string;
  readonly input: unknown;
  readonly results: Readonly<Record<string, unknown>>;
  /** Rounds started, per loop. */
  readonly iterations: Readonly<Record<string, number>>;
  /**
   * The loop round of the parent's step this child workflow runs as (`StepActorInput.round`), when past the first:
   * the child's own steps key their attempts with it, so each round of the parent runs them afresh.
   */
  readonly rounds?: string;
  readonly maps: Readonly<Record<string, MapProgress>>;
  /** Names of finished steps that have a `compensate` agent, in the order they finished. */
  readonly completed: readonly string[];
  /** Names of steps skipped after a failure. */
  readonly skipped: readonly string[];
  /** Failures of regions of a `failFast: false` parallel step, by parallel step name, until it joins. */
  readonly pending: Readonly<Record<string, SerializedError>>;
  /** The failure that ends (or compensates) the run. */
  readonly error: SerializedError | undefined;
  readonly compensationErrors: readonly SerializedError[];
  readonly outcome: WorkflowOutcome | undefined;
  /**
   * The absolute deadlines (ms since the epoch) of the `waitFor` steps waiting now, by step name: set when a wait
   * starts, removed when it ends. A restored run re-arms them (`rearmWaits`) and the store's timer rows read
   * them. Absent while nothing waits.
   */
  readonly waits?: Readonly<Record<string, number>> | undefined;
}

/** The input of a compiled workflow machine. */
export interface MachineInput {
  /** The run id. @default 'embedded' */
  readonly workflowId?: string;
  readonly pathPrefix?: string;
  /** The parent's loop round, past the first (see {@link MachineContext.rounds}). */
  readonly rounds?: string;
  /** The workflow input. */
  readonly input?: unknown;
  /** Set by the engine, which validated `input` already; otherwise the machine validates it. */
  readonly validated?: boolean;
  /**
   * A hand-written machine's entries so far into each of its agent-invoking states, by step path: counted by the
   * engine as the states are entered (each entry past the first keys its attempts with its number), stored beside
   * the run's snapshot and given back on restore. Absent for compiled machines.
   */
  entries?: Record<string, number>;
}

/**
 * The compensations that failed in a run: those of a child workflow whose failure it took over (on that error), then
 * its own, in the order they ran.
 */
export function compensationFailures(c: MachineContext): readonly SerializedError[] {
  const inherited = c.error?.compensationErrors ?? [];
  return inherited.length === 0 ? c.compensationErrors : [...inherited, ...c.compensationErrors];
}
