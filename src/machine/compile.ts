import { createRequire } from 'node:module';
import { type AnyActorLogic, type AnyStateMachine, setup } from 'xstate';
import type { ZodType } from 'zod';
import type {
  AnyWorkflowDefinition,
  GuardRef,
  OnError,
  StepOptions,
  WorkflowContext,
  WorkflowNode,
  WorkflowSpec,
} from '../model/definition.js';
import { failureOf } from '../model/errors.js';
import { recordFailure, skipResult, update } from './actions.js';
import { type Clock, systemClock } from './clock.js';
import { compensationState } from './compile-compensation.js';
import { branchState, loopState, parallelState } from './compile-control.js';
import { mapState } from './compile-map.js';
import { mapItemsState } from './compile-map-items.js';
import { type StepCompiler, stepInputBase, stepState } from './compile-step.js';
import { waitState } from './compile-wait.js';
import { compensationFailures, type MachineContext, type MachineInput } from './context.js';
import { initialContext } from './initial-context.js';
import { type Learner, learning } from './learn.js';
import { restoreLegacySnapshots } from './legacy-state-value.js';
import { createMapLogic } from './map-logic.js';
import type {
  ErrorOf,
  FailRoute,
  GuardImpl,
  NodeCompiler,
  StateConfig,
  StepInputBase,
} from './node-compiler.js';
import { type GuardFn, type MappingFn, resolveGuard, resolveMapping } from './refs.js';
import { END, ROOT_STATES } from './state-keys.js';
import { createStepLogic } from './step-logic.js';
import { createTimerLogic } from './timer-logic.js';

/** Everything a compiled machine needs from outside; the defaults give a machine that runs without an engine. */
export interface CompileOptions {
  readonly version: string;
  /** Guards by name (the workflow's own guards take precedence). */
  readonly guards?: Readonly<Record<string, GuardFn>>;
  readonly mappings?: Readonly<Record<string, MappingFn>>;
  /** The step actor logic. @default a step logic with no agents (every step fails until agents are provided) */
  readonly stepLogic?: AnyActorLogic;
  /**
   * The deadline timer logic of runs stored before waits kept their deadline in the context (a restored wait may
   * still have one). @default a timer on the system clock
   */
  readonly timerLogic?: AnyActorLogic;
  /** The clock a `waitFor` reads its deadline from. @default the system clock */
  readonly clock?: Clock;
  /** The machine that runs a child workflow. @default the child definition's own machine */
  readonly childMachine?: (definition: AnyWorkflowDefinition) => AnyStateMachine;
  /** Told of step ends, branch arms and loop rounds, for the ETA's history. @default none: nothing is learned */
  readonly learn?: Learner;
  /**
   * Compile each `map` as a state that spawns a step actor per item, each item's outcome an event of the machine:
   * what the test-path model walks, item by item. @default false: a map is one map actor (map-logic.ts)
   */
  readonly mapItemEvents?: boolean;
}

let defaultStepLogic: AnyActorLogic | undefined;
function stepLogicWithoutAgents(): AnyActorLogic {
  // pino on first use only (a machine compiled without an engine), off the package's import path. pino is
  // CommonJS: `require` gives the very module an `import` of it would.
  if (!defaultStepLogic) {
    const { pino } = createRequire(import.meta.url)('pino') as typeof import('pino');
    defaultStepLogic = createStepLogic({ agents: {}, clock: systemClock, logger: pino({ level: 'silent' }) });
  }
  return defaultStepLogic;
}

/** One map logic per step logic: it holds nothing per run, and machines compiled for one engine share it. */
const mapLogics = new WeakMap<AnyActorLogic, AnyActorLogic>();
function mapLogicOf(stepLogic: AnyActorLogic): AnyActorLogic {
  let logic = mapLogics.get(stepLogic);
  if (!logic) {
    logic = createMapLogic(stepLogic) as unknown as AnyActorLogic;
    mapLogics.set(stepLogic, logic);
  }
  return logic;
}

/**
 * Compiles a workflow spec into a plain XState machine: steps are states invoking a step actor, parallel steps are
 * parallel states, branches are guarded transitions with named guards, loops are cycles with a bounded guard, and
 * step metadata sits in state `meta.flowstate`.
 */
export function compileWorkflow(spec: WorkflowSpec, options: CompileOptions): AnyStateMachine {
  return new Compiler(spec, options).machine();
}

/**
 * The compiler for one spec: the machine's root, steps and the dispatch over node kinds; each other kind's compiler
 * (compile-*.ts) gets this compiler as the {@link NodeCompiler} it needs.
 */
class Compiler implements StepCompiler {
  readonly guards: Record<string, GuardImpl> = {};
  readonly actors: Record<string, AnyActorLogic> = {};
  private readonly guardFns: Readonly<Record<string, GuardFn>>;
  /** The loops around the node being compiled, outermost first. */
  private readonly loops: string[] = [];

  constructor(
    readonly spec: WorkflowSpec,
    private readonly options: CompileOptions,
  ) {
    this.guardFns = { ...(options.guards ?? {}), ...(spec.options.guards ?? {}) } as Record<string, GuardFn>;
    const stepLogic = options.stepLogic ?? stepLogicWithoutAgents();
    this.actors['flowstate.step'] = stepLogic;
    this.actors['flowstate.map'] = mapLogicOf(stepLogic);
    this.actors['flowstate.timer'] = options.timerLogic ?? createTimerLogic(systemClock);
  }

  /** The machine a child workflow runs as (the engine's binding), else the definition's own. */
  get childMachine(): CompileOptions['childMachine'] {
    return this.options.childMachine;
  }

  /** The clock deadlines are read from. */
  get clock(): Clock {
    return this.options.clock ?? systemClock;
  }

  /** Compiles a loop's body: the steps in it key their attempts by round (see {@link roundOf}). */
  inLoop<T>(name: string, body: () => T): T {
    this.loops.push(name);
    try {
      return body();
    } finally {
      this.loops.pop();
    }
  }

  /**
   * The loop round of a step compiled here, from a run's context: the parent's round (a child workflow's) and the
   * rounds of the loops around the step, joined (`2`, `1.3`); `undefined` while every one is the first, so steps
   * outside loops, and first rounds, keep the keys they always had.
   */
  roundOf(): (c: MachineContext) => string | undefined {
    const loops = [...this.loops];
    if (loops.length === 0) return (c) => c.rounds;
    return (c) => {
      const own = loops.map((l) => c.iterations[l] ?? 1);
      if (c.rounds === undefined && own.every((n) => n === 1)) return undefined;
      return c.rounds === undefined ? own.join('.') : [c.rounds, ...own].join('.');
    };
  }

  /** `#machine.a.b`: an absolute target from a state path. */
  absolute(path: readonly string[]): string {
    return `#${[this.spec.id, ...path].join('.')}`;
  }

  machine(): AnyStateMachine {
    const { spec } = this;
    const inputSchema = spec.options.input as ZodType | undefined;
    const result = spec.options.result === undefined ? undefined : this.mapping(spec.options.result);
    // The top-level nodes are the root's children, the last going to `__done`: no `running` container state.
    const top = this.sequence(
      spec.nodes,
      [],
      { target: this.absolute([ROOT_STATES.failed]) },
      ROOT_STATES.done,
    );
    const compensating = compensationState(this);
    const outcome = (status: 'failed' | 'compensated' | 'cancelled') =>
      update((c) => {
        if (status === 'cancelled') {
          return {
            outcome: {
              status,
              error: c.error ?? failureOf('CANCELLED', 'The run was cancelled'),
            },
          };
        }
        const error = c.error ?? failureOf('INTERNAL', 'The run failed');
        const compensationErrors = compensationFailures(c);
        if (compensationErrors.length === 0) return { outcome: { status, error } };
        // On the error too, so the error a run rejects with tells which compensations failed.
        return { outcome: { status, error: { ...error, compensationErrors }, compensationErrors } };
      });
    const config = {
      id: spec.id,
      context: ({ input }: { input: MachineInput | undefined }) => initialContext(input ?? {}, inputSchema),
      initial: top.initial,
      output: ({ context }: { context: MachineContext }) => context.outcome,
      on: {
        'flowstate.cancel': {
          target: `.${ROOT_STATES.cancelled}`,
          actions: update((_, e) => ({
            error: failureOf('CANCELLED', typeof e.reason === 'string' ? e.reason : 'The run was cancelled'),
          })),
        },
      },
      states: {
        ...top.states,
        [ROOT_STATES.compensating]: compensating,
        [ROOT_STATES.done]: {
          type: 'final',
          entry: update((c) => ({ outcome: { status: 'done', output: result ? result(c) : c.results } })),
        },
        [ROOT_STATES.failed]: { type: 'final', entry: outcome('failed') },
        [ROOT_STATES.compensated]: { type: 'final', entry: outcome('compensated') },
        [ROOT_STATES.cancelled]: { type: 'final', entry: outcome('cancelled') },
      },
    };
    const machineSetup = setup({ actors: this.actors, guards: this.guards } as never);
    return restoreLegacySnapshots(machineSetup.createMachine(config as never) as unknown as AnyStateMachine);
  }

  /**
   * A sequence of nodes as sibling states, the last going to `end`: by default a final `__end` state of its own; the
   * top-level sequence passes the root's `__done` (a sibling there) instead.
   */
  sequence(nodes: readonly WorkflowNode[], path: readonly string[], fail: FailRoute, end?: string) {
    const states: Record<string, StateConfig> = {};
    nodes.forEach((node, i) => {
      states[node.name] = this.node(node, [...path, node.name], nodes[i + 1]?.name ?? end ?? END, fail);
    });
    if (end === undefined) states[END] = { type: 'final' };
    return { initial: nodes[0]?.name ?? end ?? END, states };
  }

  private node(node: WorkflowNode, path: readonly string[], next: string, fail: FailRoute): StateConfig {
    switch (node.kind) {
      case 'step':
        return stepState(this, node.name, node.options, next, fail);
      case 'wait':
        return waitState(this, node, next, fail);
      case 'parallel':
        return parallelState(this, node, path, next, fail);
      case 'branch':
        return branchState(this, node, path, next, fail);
      case 'loop':
        return loopState(this, node, path, next, fail);
      case 'map':
        return this.options.mapItemEvents
          ? mapItemsState(this, node, next, fail)
          : mapState(this, node, next, fail);
    }
  }

  /** Actions that tell the engine's learner (none when compiled without one). */
  learn(tell: Parameters<typeof learning>[1]): ReturnType<typeof learning> {
    return learning(this.options.learn, tell);
  }

  /** The part of a step actor's input known at compile time. */
  stepInputBase(options: StepOptions): StepInputBase {
    return stepInputBase(options);
  }

  /** The transition a failure takes, by the step's `onError`. */
  failure(onError: OnError, name: string, next: string, fail: FailRoute, errorOf: ErrorOf): StateConfig {
    switch (onError) {
      case 'skip':
        return { target: next, actions: update(skipResult(name)) };
      case 'compensate':
        return {
          target: this.absolute([ROOT_STATES.compensating]),
          actions: update(recordFailure(undefined, errorOf)),
        };
      case 'fail':
        return { target: fail.target, actions: update(recordFailure(fail.pendingKey, errorOf)) };
    }
  }

  onError(own: OnError | undefined): OnError {
    return own ?? this.spec.options.onError ?? 'fail';
  }

  /** Registers a guard and returns its name (a function guard is named after where it stands). */
  guard(ref: GuardRef, fallbackName: string): string {
    const name = typeof ref === 'string' ? ref : fallbackName;
    if (!this.guards[name]) {
      const fn = resolveGuard(ref as GuardRef<unknown>, this.guardFns);
      this.guards[name] = ({ context }) => fn(context as WorkflowContext);
    }
    return name;
  }

  mapping(ref: ((ctx: WorkflowContext) => unknown) | string): (context: MachineContext) => unknown {
    const fn = resolveMapping(ref, this.options.mappings ?? {});
    return (context) => fn(context as WorkflowContext);
  }
}
