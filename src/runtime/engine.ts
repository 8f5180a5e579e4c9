import { randomUUID } from 'node:crypto';
import type { AnyStateMachine } from 'xstate';
import { isStateMachine, machineDefinition } from '../dsl/handwritten.js';
import { systemClock } from '../machine/clock.js';
import type { GuardFn, MappingFn } from '../machine/refs.js';
import { createStepLogic } from '../machine/step-logic.js';
import { createTimerLogic } from '../machine/timer-logic.js';
import { notAgents } from '../model/agent.js';
import type { AnyWorkflowDefinition } from '../model/definition.js';
import { ConfigurationError, InputValidationError, LeaseLostError } from '../model/errors.js';
import { isName } from '../model/names.js';
import { parseWith } from '../model/validation.js';
import { createLogger } from '../observability/logger.js';
import { silentLogger } from '../observability/silent-logger.js';
import { filterRuns } from '../persistence/filter.js';
import { secretValues } from '../persistence/secrets.js';
import { memoryHistory } from '../progress/history.js';
import { RunWatcher } from '../progress/runs.js';
import { Binder } from './bind.js';
import { Durability } from './durability.js';
import type { EngineCore } from './engine-core.js';
import type { Engine, EngineOptions, StartOptions } from './engine-types.js';
import { InboxReader } from './inbox.js';
import { instrumented } from './instrument.js';
import { handOver, launch, lose, unwritable } from './launch.js';
import { engineLearner } from './learner.js';
import { leaseSettings, Ownership } from './ownership.js';
import { passivationSettings } from './passivate-options.js';
import { passivating } from './passivation.js';
import { recoverRuns, takeOver } from './resume.js';
import type { WorkflowRun } from './run.js';
import { recordOf, runEnded } from './run-end.js';
import { RunTable } from './run-table.js';
import { signal } from './signal.js';
import { type LearnedHistory, storedHistory } from './stored-history.js';

export type { Engine, EngineOptions, StartOptions } from './engine-types.js';

/**
 * A fresh run id: a random UUID as one flat string. `randomUUID` builds its text by concatenation, and V8 keeps such
 * a string as a tree of pieces: about 480 bytes for each run as long as it lives, 52 once copied flat
 * (`toLowerCase` copies; a UUID is lower case already).
 */
function newRunId(): string {
  return randomUUID().toLowerCase();
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
export function createEngine(given: EngineOptions = {}): Engine {
  const options = instrumented(given);
  const clock = options.clock ?? systemClock;
  const logger = options.logger === false ? silentLogger : (options.logger ?? createLogger());
  const agents = options.agents ?? {};
  // Caught here, not at the first step that calls it (where XState would throw outside any promise).
  const wrong = notAgents(agents);
  if (wrong.length > 0) {
    throw new ConfigurationError(
      `createEngine({ agents }): ${wrong.join(', ')} ${wrong.length === 1 ? 'is' : 'are'} not an agent: give a function (input, ctx) => output, or XState actor logic`,
    );
  }
  // A queue no step could name (BullMQ refuses ':') would fail every step at run time: refused here.
  if (options.defaultQueue !== undefined && !isName(options.defaultQueue))
    throw new ConfigurationError(
      `createEngine({ defaultQueue }): '${String(options.defaultQueue)}' is not a queue name a step can use: start with a letter and use only letters, digits, '_' or '-' (at most 128)`,
    );
  const lease = leaseSettings(options.lease);
  const parking = options.passivate ? passivationSettings(options.passivate, options.store) : undefined;
  const table = new RunTable();
  const durability = options.store
    ? new Durability(
        options.store,
        clock,
        logger,
        options.secrets,
        {
          onFenced: (runId) => lose(core, runId, new LeaseLostError(runId)),
          onUnwritable: (runId, cause) => unwritable(core, runId, cause),
        },
        (runId) => table.secretsOf(runId),
      )
    : undefined;
  const learned: LearnedHistory = options.history
    ? { history: options.history, loaded: Promise.resolve() }
    : durability
      ? storedHistory(durability.store, durability.writer, clock, logger)
      : { history: memoryHistory(), loaded: Promise.resolve() };
  const learner = engineLearner(
    learned.history,
    clock,
    logger,
    (runId) => table.get(runId)?.identity.workflow,
  );
  const core: EngineCore = {
    options,
    clock,
    logger,
    lease,
    table,
    durability,
    ownership: undefined,
    inbox: undefined,
    binder: new Binder({
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
        secretsOf: (runId) => table.secretsOf(runId),
        ...(options.transport ? { transport: options.transport } : {}),
        ...(options.defaultQueue !== undefined ? { defaultQueue: options.defaultQueue } : {}),
      }),
      timerLogic: createTimerLogic(clock),
      clock,
      learn: learner,
      verify: options.verify ?? true,
      ...(options.transport ? { remote: { defaultQueue: options.defaultQueue } } : {}),
    }),
    learner,
    watcher: new RunWatcher(
      { ...options, history: learned.history },
      clock,
      logger,
      learner,
      (actor) => table.ofActor(actor)?.identity,
    ),
    watchFromStart: logger.isLevelEnabled('info'),
    finished: new Map(),
    workflows: new Map<string, AnyWorkflowDefinition>(),
    unrecoverable: new Set(),
    closed: false,
    endRun: (entry) => runEnded(core, entry),
  };
  const { active } = table;
  const { binder, workflows, finished } = core;
  /** Resumes in progress, so the adoption loop, `recover()` and a signal never take one run twice. */
  const resuming = new Map<string, Promise<WorkflowRun>>();
  const ownership = durability
    ? new Ownership(
        lease,
        durability,
        {
          lose: (runId) => lose(core, runId, new LeaseLostError(runId)),
          taking: (runId) => table.get(runId) !== undefined || resuming.has(runId),
          canAdopt: (record) =>
            !core.closed &&
            !table.get(record.id) &&
            workflows.has(record.workflow) &&
            !core.unrecoverable.has(record.id),
          adopt: (record) => engine.resume(record.id),
          workflows: () => [...workflows.keys()],
          leaveIdle: parking !== undefined,
        },
        logger,
      )
    : undefined;
  const { passivation, scheduler } =
    parking && durability
      ? passivating(core, durability, parking, {
          workflows: () => [...workflows.keys()],
          // A run found corrupt is left to an operator, as adoption does: a wake at every read would fail again.
          skip: (runId) =>
            table.get(runId) !== undefined || resuming.has(runId) || core.unrecoverable.has(runId),
          // A run woken for a signal in the inbox reads it at once, not at the next poll.
          wake: (runId) => engine.resume(runId).then(() => inbox?.drain()),
        })
      : { passivation: undefined, scheduler: undefined };
  core.ownership = ownership;
  const inbox = durability
    ? new InboxReader(durability, lease.owner, active, logger, options.inbox?.pollMs, () => scheduler?.soon())
    : undefined;
  core.inbox = inbox;
  if (ownership && inbox && durability) {
    durability.gate = () => ownership.gate();
    ownership.start();
    void inbox.start();
    scheduler?.start();
  }
  const identityOf = (run: WorkflowRun) => table.get(run.id)?.identity;
  /** A hand-written machine runs as the definition-like wrapper the runtime understands (one per machine). */
  const asDefinition = (ref: AnyWorkflowDefinition | AnyStateMachine): AnyWorkflowDefinition =>
    isStateMachine(ref) ? machineDefinition(ref) : ref;

  const engine: Engine = {
    workflows,
    active,
    register(ref) {
      const definition = asDefinition(ref);
      binder.machineFor(definition);
      workflows.set(definition.id, definition);
      return engine;
    },
    machineFor: (ref) => binder.machineFor(asDefinition(ref)),
    start(
      ref: AnyWorkflowDefinition | AnyStateMachine | string,
      input: unknown,
      startOptions: StartOptions = {},
    ) {
      if (core.closed) throw new ConfigurationError('The engine is closed: create a new one to start runs');
      const definition = typeof ref === 'string' ? workflows.get(ref) : asDefinition(ref);
      if (!definition) {
        throw new ConfigurationError(
          `No workflow '${String(ref)}' is registered; known: ${[...workflows.keys()].join(', ') || 'none'}`,
        );
      }
      // Bound once here (cached per definition), before anything is validated or registered: launch reuses it.
      const machine = binder.machineFor(definition);
      const id = startOptions.id ?? newRunId();
      if (active.has(id))
        throw new ConfigurationError(`A run with id '${id}' is already active`, { workflowId: id });
      // PostgreSQL text cannot hold it: the claim would fail its whole batch, again and again.
      if (durability && typeof id === 'string' && id.includes('\u0000'))
        throw new ConfigurationError('A run id cannot contain the character U+0000', { workflowId: id });
      const schema = definition.spec.options.input;
      let value = input;
      if (schema) {
        const parsed = parseWith(schema, input);
        if (!parsed.ok) throw new InputValidationError('input', parsed.issues, { workflowId: id });
        value = parsed.value;
      }
      const secrets = secretValues(definition.spec.options.secrets, value);
      // Serialized once, here: an input the store cannot hold is refused before anything is written.
      const inputJson = durability?.storedInput(id, value, secrets);
      if (!workflows.has(definition.id)) workflows.set(definition.id, definition);
      const identity = {
        id,
        workflow: definition.id,
        version: definition.version,
        input: value,
        createdAt: clock.now(),
        secrets,
      };
      logger.info({ workflowId: id, workflow: definition.id }, 'run started');
      return launch(
        core,
        definition,
        identity,
        // `validated` tells a machine with an input schema not to parse the input again; without one it reads
        // nothing of it (a field less in every run's input).
        {
          input: schema
            ? { workflowId: id, input: value, validated: true }
            : { workflowId: id, input: value },
        },
        true,
        machine,
        inputJson,
      );
    },
    async resume(id) {
      const live = active.get(id);
      if (live) return live;
      if (table.settling(id)) {
        throw new ConfigurationError(`Run '${id}' already ended here; read it with engine.get(id)`, {
          workflowId: id,
        });
      }
      if (core.closed) throw new ConfigurationError('The engine is closed', { workflowId: id });
      await learned.loaded;
      const inFlight = resuming.get(id);
      if (inFlight) return inFlight;
      const taking = (async () => {
        // A run passivated here a moment ago: its lease is released first (the release must not end the new one).
        await passivation?.released(id);
        await ownership?.released(id);
        const run = await takeOver(core, id);
        passivation?.woken(run);
        return run;
      })().finally(() => resuming.delete(id));
      resuming.set(id, taking);
      return taking;
    },
    recover: () => recoverRuns(core, engine.resume, passivation !== undefined),
    async list(filter = {}) {
      if (durability) return durability.store.listRuns(filter);
      const live = [...active.values()].flatMap((run) => {
        const identity = identityOf(run);
        return identity ? [recordOf(core, identity, run)] : [];
      });
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
      const identity = run && identityOf(run);
      return run && identity ? recordOf(core, identity, run) : finished.get(id);
    },
    send: (runId, event, signalOptions) =>
      signal(core, engine.resume, runId, 'event', { event }, signalOptions) as Promise<boolean>,
    resolveEscalation: async (runId, stepPath, decision, signalOptions) => {
      await signal(core, engine.resume, runId, 'decision', { stepPath, decision }, signalOptions);
    },
    cancel: async (runId, reason, signalOptions) => {
      const body = reason === undefined ? {} : { reason };
      await signal(core, engine.resume, runId, 'cancel', body, signalOptions);
    },
    owner: lease.owner,
    async flush() {
      await learned.loaded;
      await durability?.writer.flush();
    },
    async close() {
      if (core.closed) return;
      core.closed = true;
      await learned.loaded;
      if (!durability) return;
      await ownership?.stop();
      await inbox?.stop();
      await scheduler?.stop();
      await passivation?.stop();
      await Promise.allSettled(resuming.values());
      await handOver(core, durability);
      await durability.store.close();
    },
  };
  for (const definition of options.workflows ?? []) engine.register(asDefinition(definition));
  return engine;
}
