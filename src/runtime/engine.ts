import { randomUUID } from 'node:crypto';
import { type Actor, type AnyStateMachine, createActor, type InspectionEvent, type Snapshot } from 'xstate';
import { systemClock } from '../machine/clock.js';
import type { MachineInput } from '../machine/context.js';
import type { GuardFn, MappingFn } from '../machine/refs.js';
import { createStepLogic } from '../machine/step-logic.js';
import { createTimerLogic } from '../machine/timer-logic.js';
import type { AnyWorkflowDefinition } from '../model/definition.js';
import {
  ConfigurationError,
  CorruptRunError,
  DefinitionVersionError,
  FlowstateError,
  InputValidationError,
} from '../model/errors.js';
import { parseWith } from '../model/validation.js';
import { inspectionObserver } from '../observability/inspect.js';
import { createLogger } from '../observability/logger.js';
import { filterRuns } from '../persistence/memory-store.js';
import { openValue, parseSealed, secretValues } from '../persistence/secrets.js';
import { type RunRecord, UNFINISHED } from '../persistence/types.js';
import { memoryHistory } from '../progress/history.js';
import { type PendingWatch, runWatcher } from '../progress/runs.js';
import { Binder } from './bind.js';
import { Durability, type RunIdentity } from './durability.js';
import type { Engine, EngineOptions, StartOptions } from './engine-types.js';
import { engineLearner } from './learner.js';
import { WorkflowRun } from './run.js';
import { type LearnedHistory, storedHistory } from './stored-history.js';

export type { Engine, EngineOptions, StartOptions } from './engine-types.js';

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
    let pending: PendingWatch | undefined;
    // A run whose id the store gives to an earlier run is stopped, never written over the earlier one.
    const unlisten = durability?.onRefused(identity.id, () => {
      logger.error({ workflowId: identity.id }, 'run id already used by another stored run: run cancelled');
      run?.cancel(`Run id '${identity.id}' is already used by another run in the store: choose another id`);
    });
    run = new WorkflowRun(identity.id, definition, actor, binder, () => {
      active.delete(identity.id);
      // A watch set up after the end still lists the steps that ended unwatched (kept as long as the run is).
      const ended = learner.forget(identity.id);
      pending?.keep(ended);
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
    pending = watchRun(actor, identity, learner, { fromStart: watchFromStart });
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
