import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { type AnyStateMachine, createActor, type InspectionEvent } from 'xstate';
import { type Clock, systemClock } from '../machine/clock.js';
import type { MachineInput } from '../machine/context.js';
import type { GuardFn, MappingFn } from '../machine/refs.js';
import { createStepLogic } from '../machine/step-logic.js';
import { createTimerLogic } from '../machine/timer-logic.js';
import type { AgentRegistry } from '../model/agent.js';
import type { AnyWorkflowDefinition, WorkflowContext, WorkflowDefinition } from '../model/definition.js';
import { ConfigurationError, InputValidationError } from '../model/errors.js';
import { parseWith } from '../model/validation.js';
import { createLogger } from '../observability/logger.js';
import { Binder } from './bind.js';
import { WorkflowRun } from './run.js';

/** Options of {@link createEngine}: every dependency is injected. */
export interface EngineOptions {
  /** Agents by name. @default {} */
  readonly agents?: AgentRegistry;
  /** Guards that definitions name (`when: 'hasCritical'`). @default {} */
  // biome-ignore lint/suspicious/noExplicitAny: guards are shared by workflows of any input type
  readonly guards?: Readonly<Record<string, (ctx: WorkflowContext<any>) => boolean>>;
  /** Mappings that definitions name (`input: 'tableList'`). @default {} */
  // biome-ignore lint/suspicious/noExplicitAny: as above
  readonly mappings?: Readonly<Record<string, (ctx: WorkflowContext<any>) => unknown>>;
  /** @default a pino logger at level `FLOWSTATE_LOG_LEVEL` or `warn`, secrets redacted */
  readonly logger?: Logger;
  /** @default the system clock; inject a fake one in tests */
  readonly clock?: Clock;
  /** The source of backoff jitter. @default Math.random */
  readonly random?: () => number;
  /** Definitions to register, so runs can be started by id. */
  readonly workflows?: readonly AnyWorkflowDefinition[];
  /** An XState inspection observer given to every run's root actor (for the Stately inspector or your own tools). */
  readonly inspect?: (event: InspectionEvent) => void;
}

/** Options of one run. */
export interface StartOptions {
  /** The run id (the prefix of every idempotency key). @default a random UUID */
  readonly id?: string;
}

/** The engine: binds definitions to agents and runs them. */
export interface Engine {
  /** Registers a definition (checking every agent, guard and mapping name), so it can be started by id. */
  register(definition: AnyWorkflowDefinition): Engine;
  /**
   * Validates the input and starts a run. Throws an `InputValidationError` (nothing started) for bad input and a
   * `WorkflowDefinitionError` when a name the definition uses is not registered.
   */
  start<I, O>(definition: WorkflowDefinition<I, O>, input: I, options?: StartOptions): WorkflowRun<O>;
  start(workflowId: string, input: unknown, options?: StartOptions): WorkflowRun<unknown>;
  /** The definition's machine bound to this engine's agents, guards and clock, to embed with `createActor`. */
  machineFor(definition: AnyWorkflowDefinition): AnyStateMachine;
  /** The definitions registered, by id. */
  readonly workflows: ReadonlyMap<string, AnyWorkflowDefinition>;
  /** The runs started by this engine that have not ended yet, by id. */
  readonly active: ReadonlyMap<string, WorkflowRun>;
}

/**
 * Creates an engine.
 *
 * @example
 * ```ts
 * const engine = createEngine({ agents: { hello: async ({ name }) => `hello ${name}` } });
 * const run = engine.start(wf, { name: 'Ada' });
 * console.log(await run.result);
 * ```
 */
export function createEngine(options: EngineOptions = {}): Engine {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger();
  const agents = options.agents ?? {};
  const binder = new Binder({
    agents,
    guards: (options.guards ?? {}) as Record<string, GuardFn>,
    mappings: (options.mappings ?? {}) as Record<string, MappingFn>,
    stepLogic: createStepLogic({
      agents,
      clock,
      logger,
      ...(options.random ? { random: options.random } : {}),
    }),
    timerLogic: createTimerLogic(clock),
  });
  const workflows = new Map<string, AnyWorkflowDefinition>();
  const active = new Map<string, WorkflowRun>();

  const engine: Engine = {
    workflows,
    active,
    register(definition) {
      binder.machineFor(definition);
      workflows.set(definition.id, definition);
      return engine;
    },
    machineFor: (definition) => binder.machineFor(definition),
    start(ref: AnyWorkflowDefinition | string, input: unknown, startOptions: StartOptions = {}) {
      const definition = typeof ref === 'string' ? workflows.get(ref) : ref;
      if (!definition) {
        throw new ConfigurationError(
          `No workflow '${String(ref)}' is registered; known: ${[...workflows.keys()].join(', ') || 'none'}`,
        );
      }
      const machine = binder.machineFor(definition);
      const id = startOptions.id ?? randomUUID();
      if (active.has(id))
        throw new ConfigurationError(`A run with id '${id}' is already active`, { workflowId: id });
      const schema = definition.spec.options.input;
      let value = input;
      if (schema) {
        const parsed = parseWith(schema, input);
        if (!parsed.ok) throw new InputValidationError('input', parsed.issues, { workflowId: id });
        value = parsed.value;
      }
      const machineInput: MachineInput = { workflowId: id, input: value, validated: true };
      const actor = createActor(machine, {
        input: machineInput,
        ...(options.inspect ? { inspect: options.inspect } : {}),
      });
      const run = new WorkflowRun(id, definition, actor, binder, () => {
        active.delete(id);
        logger.info({ workflowId: id, workflow: definition.id, status: run.status }, 'run ended');
      });
      active.set(id, run);
      logger.info({ workflowId: id, workflow: definition.id }, 'run started');
      actor.start();
      return run;
    },
  };
  for (const definition of options.workflows ?? []) engine.register(definition);
  return engine;
}
