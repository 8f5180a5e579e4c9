import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { type Actor, type AnyStateMachine, createActor, type InspectionEvent, type Snapshot } from 'xstate';
import { type Clock, systemClock } from '../machine/clock.js';
import type { MachineInput } from '../machine/context.js';
import type { GuardFn, MappingFn } from '../machine/refs.js';
import { createStepLogic } from '../machine/step-logic.js';
import { createTimerLogic } from '../machine/timer-logic.js';
import type { AgentRegistry } from '../model/agent.js';
import type { AnyWorkflowDefinition, WorkflowContext, WorkflowDefinition } from '../model/definition.js';
import {
  ConfigurationError,
  CorruptRunError,
  DefinitionVersionError,
  FlowstateError,
  InputValidationError,
} from '../model/errors.js';
import { parseWith } from '../model/validation.js';
import { type InspectOption, inspectionObserver } from '../observability/inspect.js';
import { createLogger } from '../observability/logger.js';
import { filterRuns } from '../persistence/memory-store.js';
import { openValue, parseSealed, type SecretsHook, secretValues } from '../persistence/secrets.js';
import { type RunFilter, type RunRecord, UNFINISHED, type WorkflowStore } from '../persistence/types.js';
import { type DurationHistory, memoryHistory } from '../progress/history.js';
import { runWatcher } from '../progress/runs.js';
import { Binder } from './bind.js';
import { Durability, type RunIdentity } from './durability.js';
import { engineLearner } from './learner.js';
import { WorkflowRun } from './run.js';
import { type LearnedHistory, storedHistory } from './stored-history.js';

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
  /** Definitions to register, so runs can be started, and resumed, by id. */
  readonly workflows?: readonly AnyWorkflowDefinition[];
  /**
   * Where runs are checkpointed and step outputs journaled: `sqliteStore(...)` or `postgresStore(...)`.
   * @default none: runs live in memory and cannot be resumed after the process ends
   */
  readonly store?: WorkflowStore;
  /** How secret inputs (a definition's `secrets` paths) are sealed in the store. @default redacted */
  readonly secrets?: SecretsHook;
  /**
   * Where step durations are learned for the ETA of `run.progress$`. @default with a `store`, a history kept in the
   * store (written behind with its batches, loaded back by the next engine on it); else one `memoryHistory()`
   */
  readonly history?: DurationHistory;
  /** `run.progress$` emits at most once per `throttleMs` (a failure and the final state excepted). @default 100 */
  readonly progress?: { readonly throttleMs?: number };
  /**
   * Watches every run: an XState inspection observer function, or an inspector such as `createNodeInspector(...)`
   * or any `@statelyai/inspect` inspector (see docs/inspector.md).
   */
  readonly inspect?: InspectOption | undefined;
  /**
   * Refuse definitions that `verify` finds errors in (a `WorkflowVerificationError` at register or start).
   * Set `false` for a definition you know fails on purpose. @default true
   */
  readonly verify?: boolean;
}

/** Options of one run. */
export interface StartOptions {
  /** The run id (the prefix of every idempotency key). Must be unique in the store. @default a random UUID */
  readonly id?: string;
}

/** The engine: binds definitions to agents and runs them. */
export interface Engine {
  /** Registers a definition (checking every agent, guard and mapping name), so it can be started and resumed by id. */
  register(definition: AnyWorkflowDefinition): Engine;
  /**
   * Validates the input and starts a run. Throws an `InputValidationError` (nothing started) for bad input and a
   * `WorkflowDefinitionError` when a name the definition uses is not registered.
   */
  start<I, O>(definition: WorkflowDefinition<I, O>, input: I, options?: StartOptions): WorkflowRun<O>;
  start(workflowId: string, input: unknown, options?: StartOptions): WorkflowRun<unknown>;
  /**
   * Continues a stored run from its last checkpoint: journaled steps are not called again, timers resume with the
   * time they had left. Rejects with `DefinitionVersionError` when the registered definition changed since, and
   * `CorruptRunError` when the stored run does not parse.
   */
  resume(id: string): Promise<WorkflowRun>;
  /** Resumes every unfinished stored run. A run that cannot be resumed is logged and skipped; the others go on. */
  recover(): Promise<WorkflowRun[]>;
  /** Stored runs (or, without a store, the runs of this process), oldest first. */
  list(filter?: RunFilter): Promise<RunRecord[]>;
  /** One run's record, or `undefined`. */
  get(id: string): Promise<RunRecord | undefined>;
  /** Resolves once every checkpoint and journal entry queued so far is committed. */
  flush(): Promise<void>;
  /** Flushes and closes the store. Runs still active stop being checkpointed. */
  close(): Promise<void>;
  /** The definition's machine bound to this engine's agents, guards and clock, to embed with `createActor`. */
  machineFor(definition: AnyWorkflowDefinition): AnyStateMachine;
  /** The definitions registered, by id. */
  readonly workflows: ReadonlyMap<string, AnyWorkflowDefinition>;
  /** The runs of this engine that have not ended yet, by id. */
  readonly active: ReadonlyMap<string, WorkflowRun>;
}

/** How many finished runs an engine without a store remembers for `get` and `list`. */
const MEMORY_RECORDS = 1_000;

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
  const durability = options.store
    ? new Durability(options.store, clock, logger, options.secrets)
    : undefined;
  const learned: LearnedHistory = options.history
    ? { history: options.history, loaded: Promise.resolve() }
    : durability
      ? storedHistory(durability.store, durability.writer, clock, logger)
      : { history: memoryHistory(), loaded: Promise.resolve() };
  const watchRun = runWatcher({ ...options, history: learned.history }, clock, logger);
  // Step lines go to the logger from a run's first step: only then is a run watched from its start.
  const watchFromStart = logger.isLevelEnabled('info');
  const active = new Map<string, WorkflowRun>();
  const learner = engineLearner(learned.history, clock, logger, (runId) => active.get(runId)?.definition.id);
  const binder = new Binder({
    agents,
    guards: (options.guards ?? {}) as Record<string, GuardFn>,
    mappings: (options.mappings ?? {}) as Record<string, MappingFn>,
    stepLogic: createStepLogic({
      agents,
      clock,
      logger,
      learner,
      ...(options.random ? { random: options.random } : {}),
      ...(durability ? { journal: durability.journal() } : {}),
    }),
    timerLogic: createTimerLogic(clock),
    learn: learner,
    verify: options.verify ?? true,
  });
  const workflows = new Map<string, AnyWorkflowDefinition>();
  const finished = new Map<string, RunRecord>();
  const identities = new WeakMap<WorkflowRun, RunIdentity>();
  const identityOf = (run: WorkflowRun): RunIdentity => identities.get(run) as RunIdentity;

  const recordOf = (identity: RunIdentity, run: WorkflowRun): RunRecord => {
    const snapshot = run.actor.getSnapshot() as Snapshot<unknown> & {
      output?: { status: string; output?: unknown; error?: never };
    };
    const outcome = snapshot.status === 'done' ? snapshot.output : undefined;
    return {
      ...identity,
      status: run.status,
      ...(outcome?.status === 'done' ? { output: outcome.output } : {}),
      ...(outcome && outcome.status !== 'done' && outcome.error ? { error: outcome.error } : {}),
      updatedAt: clock.now(),
    };
  };

  /** Creates, wires and starts the actor of a new or restored run. */
  const launch = (
    definition: AnyWorkflowDefinition,
    identity: RunIdentity,
    actorOptions: { input: MachineInput } | { snapshot: Snapshot<unknown> },
  ): WorkflowRun => {
    const machine = binder.machineFor(definition);
    let actor: Actor<AnyStateMachine> | undefined;
    let run: WorkflowRun | undefined;
    const checkpoint = () => {
      if (durability && actor && run)
        void durability.checkpoint(identity, actor, () => (run as WorkflowRun).status);
    };
    const observer = inspectionObserver(options.inspect);
    // Inspection costs about half a transition: only runs that checkpoint or are watched pay for it.
    const inspect = durability
      ? (event: InspectionEvent) => {
          if (event.type === '@xstate.snapshot') checkpoint();
          observer?.(event);
        }
      : observer;
    actor = createActor(machine, inspect ? { ...actorOptions, inspect } : actorOptions);
    if (actor.getSnapshot().status === 'error')
      throw new CorruptRunError(identity.id, actor.getSnapshot().error);
    const watch = () => watchRun(actor as Actor<AnyStateMachine>, identity, learner.watched(identity.id));
    // A run whose id the store gives to an earlier run is stopped, never written over the earlier one.
    const unlisten = durability?.onRefused(identity.id, () => {
      logger.error({ workflowId: identity.id }, 'run id already used by another stored run: run cancelled');
      run?.cancel(`Run id '${identity.id}' is already used by another run in the store: choose another id`);
    });
    run = new WorkflowRun(identity.id, definition, actor, binder, watch, () => {
      active.delete(identity.id);
      learner.forget(identity.id);
      unlisten?.();
      const record = recordOf(identity, run as WorkflowRun);
      if (durability) checkpoint();
      else {
        finished.set(identity.id, record);
        if (finished.size > MEMORY_RECORDS) finished.delete(finished.keys().next().value as string);
      }
      logger.info(
        { workflowId: identity.id, workflow: identity.workflow, status: record.status },
        'run ended',
      );
    });
    identities.set(run, identity);
    active.set(identity.id, run);
    if (watchFromStart) watch();
    actor.start();
    checkpoint();
    return run;
  };

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
      binder.machineFor(definition);
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
      if (!workflows.has(definition.id)) workflows.set(definition.id, definition);
      const identity = {
        id,
        workflow: definition.id,
        version: definition.version,
        input: value,
        createdAt: clock.now(),
        secrets: secretValues(definition.spec.options.secrets, value),
      };
      logger.info({ workflowId: id, workflow: definition.id }, 'run started');
      return launch(definition, identity, { input: { workflowId: id, input: value, validated: true } });
    },
    async resume(id) {
      const live = active.get(id);
      if (live) return live;
      await learned.loaded;
      if (!durability)
        throw new ConfigurationError('resume needs a store: createEngine({ store: sqliteStore(path) })', {
          workflowId: id,
        });
      const stored = await durability.store.getRun(id);
      if (!stored) throw new FlowstateError('RUN_NOT_FOUND', `No stored run '${id}'`, { workflowId: id });
      if (!UNFINISHED.includes(stored.status)) {
        throw new ConfigurationError(
          `Run '${id}' already ended (${stored.status}); read it with engine.get(id)`,
          { workflowId: id },
        );
      }
      const definition = workflows.get(stored.workflow);
      if (!definition) {
        throw new ConfigurationError(
          `Run '${id}' needs workflow '${stored.workflow}': register it with the engine`,
          { workflowId: id },
        );
      }
      if (definition.version !== stored.version) {
        throw new DefinitionVersionError(id, stored.workflow, stored.version, definition.version);
      }
      let snapshot: Snapshot<unknown>;
      let input: unknown;
      try {
        snapshot = parseSealed(stored.snapshot, options.secrets) as Snapshot<unknown>;
        input = openValue(stored.input, options.secrets);
      } catch (cause) {
        throw new CorruptRunError(id, cause);
      }
      const identity = {
        id,
        workflow: stored.workflow,
        version: stored.version,
        input,
        createdAt: stored.createdAt,
        secrets: secretValues(definition.spec.options.secrets, input),
      };
      logger.info({ workflowId: id, workflow: stored.workflow }, 'run resumed');
      try {
        return launch(definition, identity, { snapshot });
      } catch (cause) {
        throw cause instanceof FlowstateError ? cause : new CorruptRunError(id, cause);
      }
    },
    async recover() {
      const runs: WorkflowRun[] = [];
      for (const record of await engine.list({ status: UNFINISHED, limit: Number.MAX_SAFE_INTEGER })) {
        try {
          runs.push(await engine.resume(record.id));
        } catch (error) {
          logger.error({ err: error, workflowId: record.id }, 'run could not be recovered');
        }
      }
      return runs;
    },
    async list(filter = {}) {
      if (durability) return durability.store.listRuns(filter);
      const live = [...active.values()].map((run) => recordOf(identityOf(run), run));
      return filterRuns([...finished.values(), ...live], filter);
    },
    async get(id) {
      if (durability) {
        const stored = await durability.store.getRun(id);
        if (!stored) return undefined;
        const { snapshot: _snapshot, ...record } = stored;
        return record;
      }
      const run = active.get(id);
      return run ? recordOf(identityOf(run), run) : finished.get(id);
    },
    async flush() {
      await learned.loaded;
      await durability?.writer.flush();
    },
    async close() {
      await learned.loaded;
      await durability?.writer.flush();
      await durability?.store.close();
    },
  };
  for (const definition of options.workflows ?? []) engine.register(definition);
  return engine;
}
