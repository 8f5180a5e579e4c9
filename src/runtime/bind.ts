import type { AnyActorLogic, AnyStateMachine } from 'xstate';
import { assertVerified } from '../dsl/verify.js';
import type { Clock } from '../machine/clock.js';
import { compileWorkflow } from '../machine/compile.js';
import type { Learner } from '../machine/learn.js';
import type { GuardFn, MappingFn } from '../machine/refs.js';
import type { AgentRegistry } from '../model/agent.js';
import type { AnyWorkflowDefinition, GuardRef, Mapping, WaitNode } from '../model/definition.js';
import { type DefinitionProblem, type IssuePath, WorkflowDefinitionError } from '../model/errors.js';
import { isDataPath } from '../model/names.js';
import { stepOptionsOf, walkNodes } from '../model/walk.js';
import { bindHandwritten } from './handwritten.js';

/** What a binder resolves names against and runs steps with. */
export interface BindDeps {
  readonly agents: AgentRegistry;
  readonly guards: Readonly<Record<string, GuardFn>>;
  readonly mappings: Readonly<Record<string, MappingFn>>;
  readonly stepLogic: AnyActorLogic;
  readonly timerLogic: AnyActorLogic;
  /** The clock `waitFor` deadlines are read from. @default the system clock */
  readonly clock?: Clock;
  /** Told of step ends, branch arms and loop rounds, for the ETA's history. */
  readonly learn?: Learner;
  /** Refuse definitions `verify` finds errors in. @default false */
  readonly verify?: boolean;
  /**
   * Set with a transport: the agents of steps on a queue run on workers, so they need not be registered here.
   * @default none: every agent must be registered
   */
  readonly remote?: { readonly defaultQueue: string | undefined };
}

/**
 * Binds definitions to an engine: checks that every agent, guard and mapping name resolves (all problems at
 * once), and compiles the machine with the engine's registries and actors. One machine per definition, cached.
 */
export class Binder {
  private readonly machines = new WeakMap<AnyWorkflowDefinition, AnyStateMachine>();
  private readonly definitions = new WeakMap<AnyStateMachine, AnyWorkflowDefinition>();

  constructor(private readonly deps: BindDeps) {}

  machineFor(definition: AnyWorkflowDefinition): AnyStateMachine {
    const cached = this.machines.get(definition);
    if (cached) return cached;
    const handwritten = bindHandwritten(definition, this.deps);
    if (handwritten) {
      if (this.deps.verify) assertVerified(definition);
      return this.remember(definition, handwritten);
    }
    const problems = this.unresolvedNames(definition);
    if (problems.length > 0) throw new WorkflowDefinitionError(definition.id, problems);
    const machine = compileWorkflow(definition.spec, {
      version: definition.version,
      guards: this.deps.guards,
      mappings: this.deps.mappings,
      stepLogic: this.deps.stepLogic,
      timerLogic: this.deps.timerLogic,
      ...(this.deps.clock ? { clock: this.deps.clock } : {}),
      ...(this.deps.learn ? { learn: this.deps.learn } : {}),
      childMachine: (child) => this.machineFor(child),
    });
    // Once per definition and engine, on the machine that will run (it walks the definition, not the state space).
    if (this.deps.verify) assertVerified(definition, { machine });
    return this.remember(definition, machine);
  }

  private remember(definition: AnyWorkflowDefinition, machine: AnyStateMachine): AnyStateMachine {
    this.machines.set(definition, machine);
    this.definitions.set(machine, definition);
    return machine;
  }

  /** The definition a bound machine was compiled from. */
  definitionOf(machine: unknown): AnyWorkflowDefinition | undefined {
    return typeof machine === 'object' && machine !== null
      ? this.definitions.get(machine as AnyStateMachine)
      : undefined;
  }

  /** The `waitFor` node of a bound definition, by name. */
  waitNode(definition: AnyWorkflowDefinition, name: string): WaitNode | undefined {
    let found: WaitNode | undefined;
    walkNodes(definition.spec.nodes, (node) => {
      if (node.kind === 'wait' && node.name === name) found = node;
    });
    return found;
  }

  private unresolvedNames(definition: AnyWorkflowDefinition): DefinitionProblem[] {
    const { agents, guards, mappings } = this.deps;
    const own = definition.spec.options.guards ?? {};
    const problems: DefinitionProblem[] = [];
    const agent = (name: string | undefined, path: IssuePath, role: string) => {
      if (name !== undefined && !Object.hasOwn(agents, name)) {
        problems.push({
          code: 'unknown-agent',
          path,
          message: `No agent named '${name}' (${role}) is registered with the engine`,
        });
      }
    };
    const guard = (ref: GuardRef, path: IssuePath) => {
      if (
        typeof ref === 'string' &&
        !isDataPath(ref) &&
        !Object.hasOwn(guards, ref) &&
        !Object.hasOwn(own, ref)
      ) {
        problems.push({
          code: 'unknown-guard',
          path,
          message: `No guard named '${ref}': register it with createEngine({ guards }) or use a data path such as results.step.field`,
        });
      }
    };
    const mapping = (ref: Mapping | undefined, path: IssuePath) => {
      if (typeof ref === 'string' && !isDataPath(ref) && !Object.hasOwn(mappings, ref)) {
        problems.push({
          code: 'unknown-mapping',
          path,
          message: `No mapping named '${ref}': register it with createEngine({ mappings }) or use a data path such as results.step.field`,
        });
      }
    };
    mapping(definition.spec.options.result, ['result']);
    walkNodes(definition.spec.nodes, (node, path) => {
      const step = stepOptionsOf(node, path);
      if (step) {
        const { options, path: at } = step;
        // A step on a queue runs its agents on the queue's workers, whose registry this engine cannot see.
        const remote = this.deps.remote && (options.queue ?? this.deps.remote.defaultQueue) !== undefined;
        if (!remote) {
          if (options.workflow === undefined) agent(options.agent, [...at, 'agent'], 'agent');
          agent(options.fallback, [...at, 'fallback'], 'fallback');
          agent(options.compensate, [...at, 'compensate'], 'compensate');
        }
        if (options.escalate && options.escalate.to !== 'human')
          agent(options.escalate.to, [...at, 'escalate', 'to'], 'supervisor');
        mapping(options.input, [...at, 'input']);
      }
      if (node.kind === 'map') mapping(node.items, [...path, 'items']);
      if (node.kind === 'branch') {
        node.arms.forEach((arm, i) => {
          guard(arm.when, [...path, 'arms', i, 'when']);
        });
      }
      if (node.kind === 'loop') guard(node.until, [...path, 'until']);
    });
    return problems;
  }
}
