/**
 * What the ETA reads of a running run: its machines (plan, state value, context) and its started steps, behind
 * interfaces so the walk stays pure and testable without actors.
 */
import type { StateValue } from 'xstate';
import type { StepPhase } from '../machine/step-types.js';
import type { DurationEstimate } from './history.js';
import type { Plan, PlanNode } from './plan.js';
import type { Range } from './range.js';

/**
 * What the ETA reads of a step that started.
 *
 * @example
 * ```ts
 * const step: LiveStep = { phase: 'running', attempt: 1, startedAt: 0, attemptStartedAt: 0, deadline: undefined };
 * ```
 */
export interface LiveStep {
  readonly phase: StepPhase | undefined;
  readonly attempt: number;
  readonly startedAt: number;
  /** When the current attempt started. */
  readonly attemptStartedAt: number;
  /** When a backoff or an escalation ends. */
  readonly deadline: number | undefined;
}

/**
 * What the ETA reads of a running machine.
 *
 * @example
 * ```ts
 * const left = remainingOf(watch.rootMachine() as LiveMachine, ctx);
 * ```
 */
export interface LiveMachine {
  readonly plan: Plan;
  readonly value: StateValue;
  /** Prefix of its step paths (`''` at the root, `'step/'` in a child workflow). */
  readonly prefix: string;
  readonly context: LiveContext | undefined;
  /** When a state node was entered, if it is active. */
  enteredAt(node: PlanNode): number | undefined;
  /** The machine an active state invoked, by invoke id. */
  child(invokeId: string): LiveMachine | undefined;
  /** Where the map actor an active state invoked is, by invoke id. */
  map?(invokeId: string): LiveMap | undefined;
}

/**
 * Where a running map is: its items in all, the next to start, and those running.
 *
 * @example
 * ```ts
 * const progress: LiveMap = { total: 7, next: 3, running: [1, 2] };
 * ```
 */
export interface LiveMap {
  readonly total: number;
  readonly next: number;
  readonly running: readonly number[];
}

/**
 * The parts of a compiled machine's context the ETA reads.
 *
 * @example
 * ```ts
 * const context: LiveContext = { maps: { check: { total: 7, next: 3, running: [1, 2] } } };
 * ```
 */
export interface LiveContext {
  /** Maps running, as a machine compiled for the path model keeps them (a run's maps are map actors). */
  readonly maps?: Readonly<Record<string, LiveMap>>;
  readonly iterations?: Readonly<Record<string, number>>;
  /** The deadlines of the `waitFor` steps waiting now, by step name (epoch ms). */
  readonly waits?: Readonly<Record<string, number>>;
}

/**
 * What the walk needs from outside: time, history and started steps.
 *
 * @example
 * ```ts
 * const ctx: EtaContext = { now: Date.now(), defaultMs: 1000, estimate, choices, step: (path) => views.get(path) };
 * ```
 */
export interface EtaContext {
  readonly now: number;
  /** The duration assumed for a step with neither history nor `expectedMs`. */
  readonly defaultMs: number;
  estimate(path: string): DurationEstimate | undefined;
  choices(path: string): Readonly<Record<string, number>> | undefined;
  step(path: string): LiveStep | undefined;
  /**
   * Told about each step or wait ahead that has not started, with its expected duration and its share: how likely
   * it is to run (below 1 in the arms of a branch not decided yet, weighted as the ETA weighs them).
   */
  pending?(path: string, node: PlanNode, expected: Range, share: number): void;
  /** Told how many items of a running map have not started. */
  pendingItems?(count: number): void;
  /**
   * Told when the walk counts time for a wait on the outside world (a `waitFor` with history, a hand-written step
   * state that waits for an event) or a backoff: the run's own time left then differs from the ETA (`remainingOf`
   * with `own`).
   */
  outsideTime?(): void;
}
