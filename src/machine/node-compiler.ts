import type { AnyEventObject } from 'xstate';
import type {
  GuardRef,
  OnError,
  StepOptions,
  WorkflowContext,
  WorkflowNode,
  WorkflowSpec,
} from '../model/definition.js';
import type { Clock } from './clock.js';
import type { MachineContext } from './context.js';
import type { learning } from './learn.js';
import type { StepActorInput } from './step-types.js';

/** Where a failure goes: the run's `__failed` state, or the end of a `failFast: false` region (recorded as pending). */
export interface FailRoute {
  readonly target: string;
  readonly pendingKey?: string;
}

/** A state node config as the compiler assembles it. */
export type StateConfig = Record<string, unknown>;

/** How a failure transition finds its error. */
export type ErrorOf = (event: AnyEventObject, context: MachineContext) => unknown;

/** A guard as the compiled machine's `setup` takes it. */
export type GuardImpl = (args: { context: MachineContext; event: AnyEventObject }) => boolean;

/** The part of a step actor's input known at compile time. */
export type StepInputBase = Omit<StepActorInput, 'workflowId' | 'path' | 'input'>;

/**
 * What the compilers of the node kinds (compile-control.ts, compile-wait.ts, compile-map*.ts,
 * compile-compensation.ts) take from the workflow compiler (compile.ts, which implements it and passes itself): the
 * spec, the guard table they register into, the compilation of nested sequences, and the transitions shared by every
 * kind. The node kinds depend on this contract only, so the imports run one way: compile.ts -> a node kind -> here.
 *
 * @example
 * ```ts
 * function waitState(compiler: NodeCompiler, node: WaitNode, next: string, fail: FailRoute): StateConfig {
 *   compiler.guards[`${node.name}.payload`] = () => true;
 *   return { on: { [node.event]: { guard: `${node.name}.payload`, target: next } } };
 * }
 * ```
 */
export interface NodeCompiler {
  readonly spec: WorkflowSpec;
  /** The guards of the machine being compiled, by name: a node kind adds the ones its transitions name. */
  readonly guards: Record<string, GuardImpl>;
  /** The clock deadlines are read from. */
  readonly clock: Clock;
  /** `#machine.a.b`: an absolute target from a state path. */
  absolute(path: readonly string[]): string;
  /**
   * A sequence of nodes as sibling states, the last going to `end` (by default a final `__end` state of its own):
   * how a node kind compiles the nodes nested in it.
   */
  sequence(
    nodes: readonly WorkflowNode[],
    path: readonly string[],
    fail: FailRoute,
    end?: string,
  ): { initial: string; states: Record<string, StateConfig> };
  /** Compiles a loop's body: the steps in it key their attempts by round (see {@link NodeCompiler.roundOf}). */
  inLoop<T>(name: string, body: () => T): T;
  /** The loop round of a step compiled here, from a run's context (`undefined` while every loop is in its first). */
  roundOf(): (c: MachineContext) => string | undefined;
  /** Actions that tell the engine's learner (none when compiled without one). */
  learn(tell: Parameters<typeof learning>[1]): ReturnType<typeof learning>;
  /** The part of a step actor's input known at compile time. */
  stepInputBase(options: StepOptions): StepInputBase;
  /** The transition a failure takes, by the step's `onError`. */
  failure(onError: OnError, name: string, next: string, fail: FailRoute, errorOf: ErrorOf): StateConfig;
  /** A node's own `onError`, else the workflow's, else `fail`. */
  onError(own: OnError | undefined): OnError;
  /** Registers a guard and returns its name (a function guard is named after where it stands). */
  guard(ref: GuardRef, fallbackName: string): string;
  /** A mapping (a function or a registered name) as a function of the run's context. */
  mapping(ref: ((ctx: WorkflowContext) => unknown) | string): (context: MachineContext) => unknown;
}
