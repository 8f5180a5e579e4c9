import { randomUUID } from 'node:crypto';
import { type Actor, type AnyStateMachine, createActor, type InspectionEvent, type Snapshot } from 'xstate';
import { systemClock } from '../machine/clock.js';
import type { MachineInput } from '../machine/context.js';
import type { GuardFn, MappingFn } from '../machine/refs.js';
import { createStepLogic } from '../machine/step-logic.js';
import { createTimerLogic } from '../machine/timer-logic.js';
import type { AnyWorkflowDefinition } from '../model/definition.js';
import {
  CancelledError,
  ConfigurationError,
  CorruptRunError,
  DefinitionVersionError,
  FlowstateError,
  InputValidationError,
  LeaseLostError,
  RunIdTakenError,
  RunOwnedError,
  serializeError,
} from '../model/errors.js';
import { parseWith } from '../model/validation.js';
import { inspectionObserver } from '../observability/inspect.js';
import { createLogger } from '../observability/logger.js';
import { filterRuns } from '../persistence/filter.js';
import { openValue, parseSealed, secretValues } from '../persistence/secrets.js';
import { type RunRecord, type StoredRun, UNFINISHED } from '../persistence/types.js';
import { memoryHistory } from '../progress/history.js';
import { type PendingWatch, runWatcher } from '../progress/runs.js';
import { Binder } from './bind.js';
import { Durability, type RunIdentity } from './durability.js';
import type { Engine, EngineOptions, MigrationDecision, StartOptions } from './engine-types.js';
import { applySignal, InboxReader, postSignal, type SignalBody } from './inbox.js';
import { engineLearner } from './learner.js';
import { leaseSettings, Ownership } from './ownership.js';
import { WorkflowRun } from './run.js';
import { type LearnedHistory, storedHistory } from './stored-history.js';

export type { Engine, EngineOptions, StartOptions } from './engine-types.js';

/** How long a signal to a run in another process waits for its owner, by default. */
const SIGNAL_TIMEOUT_MS = 30_000;

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
  const lease = leaseSettings(options.lease);
  const identities = new Map<string, RunIdentity>();
  /** Runs whose copy here stops without writing: their lease moved on, or `close()` hands them over. */
  const stopping = new Map<string, FlowstateError>();
  /** Runs whose claim is not committed yet: what ends such a run before its actor starts. */
  const unstarted = new Map<string, (reason: FlowstateError) => void>();
  /** The reasons close() stops runs with (a hand-over, not a loss: nothing to warn about). */
  const handedOver = new WeakSet<FlowstateError>();
  /** A run that ended here and whose final state is being committed: not to be taken again meanwhile. */
  const settling = (id: string) => identities.has(id) && !active.has(id);
  const durability = options.store
    ? new Durability(
        options.store,
        clock,
        logger,
        options.secrets,
        {
          onFenced: (runId) => lose(runId, new LeaseLostError(runId)),
          onUnwritable: (runId, cause) => {
            lose(
              runId,
              new FlowstateError('INTERNAL', `Run '${runId}' holds a value that cannot be stored as JSON`, {
                cause,
                workflowId: runId,
              }),
            );
            // Its last good checkpoint stays: hand the run to whichever engine takes it next.
            void durability?.writer
              .flush()
              .then(() => durability.store.release(lease.owner, [runId]))
              .catch(() => {});
          },
        },
        (runId) => identities.get(runId)?.secrets,
      )
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
      secretsOf: (runId) => identities.get(runId)?.secrets,
    }),
    timerLogic: createTimerLogic(clock),
    learn: learner,
    verify: options.verify ?? true,
  });
  const workflows = new Map<string, AnyWorkflowDefinition>();
  const finished = new Map<string, RunRecord>();
  const identityOf = (run: WorkflowRun): RunIdentity => identities.get(run.id) as RunIdentity;
  /** Resumes in progress, so the adoption loop, `recover()` and a signal never take one run twice. */
  const resuming = new Map<string, Promise<WorkflowRun>>();
  /** Runs that cannot be resumed here (corrupt): the adoption loop leaves them to an operator. */
  const unrecoverable = new Set<string>();
  let closed = false;

  /** Stops this engine's copy of a run without writing anything more; its result rejects with `reason`. */
  const lose = (runId: string, reason: FlowstateError) => {
    // A run that ended here but whose final write was fenced is still settling: its result must reject too.
    if (!identities.has(runId)) return;
    stopping.set(runId, reason);
    const pending = unstarted.get(runId);
    if (pending) return pending(reason);
    const run = active.get(runId);
    if (!run) return;
    if (!handedOver.has(reason))
      logger.warn({ workflowId: runId }, 'run owned by another engine now: copy stopped');
    // Its last live state, if queued, is written as it is now, not as the stopped actor it is about to become.
    durability?.writer.freeze(runId);
    run.actor.stop();
  };
  const ownership = durability
    ? new Ownership(
        lease,
        durability,
        {
          lose: (runId) => lose(runId, new LeaseLostError(runId)),
          canAdopt: (record) =>
            !closed &&
            !active.has(record.id) &&
            !settling(record.id) &&
            workflows.has(record.workflow) &&
            !unrecoverable.has(record.id),
          adopt: (record) => engine.resume(record.id),
          workflows: () => [...workflows.keys()],
        },
        logger,
      )
    : undefined;
  const inbox = durability
    ? new InboxReader(durability, lease.owner, active, logger, options.inbox?.pollMs)
    : undefined;
  if (ownership && inbox && durability) {
    durability.gate = () => ownership.gate();
    ownership.start();
    void inbox.start();
  }

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

  /**
   * Creates, wires and starts the actor of a new or restored run. A new run on a store starts once its id is
   * claimed there (`claim`); a restored one already holds its lease.
   */
  const launch = (
    definition: AnyWorkflowDefinition,
    identity: RunIdentity,
    actorOptions: { input: MachineInput } | { snapshot: Snapshot<unknown> },
    claim: boolean,
  ): WorkflowRun => {
    const machine = binder.machineFor(definition);
    let actor: Actor<AnyStateMachine> | undefined;
    let run: WorkflowRun | undefined;
    // A copy being stopped because it is no longer this engine's (fenced, handed over) writes nothing more.
    const checkpoint = () =>
      durability && actor && run && !stopping.has(identity.id)
        ? durability.checkpoint(identity, actor, () => (run as WorkflowRun).status)
        : undefined;
    const observer = inspectionObserver(options.inspect);
    // Inspection costs about half a transition: only runs that checkpoint or are watched pay for it.
    const inspect = durability
      ? (event: InspectionEvent) => {
          if (event.type === '@xstate.snapshot') void checkpoint();
          observer?.(event);
        }
      : observer;
    actor = createActor(machine, inspect ? { ...actorOptions, inspect } : actorOptions);
    if (actor.getSnapshot().status === 'error')
      throw new CorruptRunError(identity.id, actor.getSnapshot().error);
    let pending: PendingWatch | undefined;
    const ended = () => {
      active.delete(identity.id);
      // A watch set up after the end still lists the steps that ended unwatched (kept as long as the run is).
      pending?.keep(learner.forget(identity.id));
    };
    run = new WorkflowRun(identity.id, definition, actor, binder, () => {
      ended();
      const record = recordOf(identity, run as WorkflowRun);
      logger.info(
        { workflowId: identity.id, workflow: identity.workflow, status: record.status },
        'run ended',
      );
      if (!durability) {
        identities.delete(identity.id);
        finished.set(identity.id, record);
        if (finished.size > MEMORY_RECORDS) finished.delete(finished.keys().next().value as string);
        return undefined;
      }
      const stopped = stopping.get(identity.id);
      const settle = () => {
        const reason = stopping.get(identity.id);
        stopping.delete(identity.id);
        identities.delete(identity.id);
        durability.leases.delete(identity.id);
        return reason;
      };
      // A copy stopped because another engine owns the run (or close() hands it over) writes nothing more.
      if (stopped) return Promise.resolve(settle());
      // The result is a promise about the store: it settles once the final state is committed.
      return (checkpoint() ?? Promise.resolve()).then(settle);
    });
    identities.set(identity.id, identity);
    active.set(identity.id, run);
    pending = watchRun(actor, identity, learner, { fromStart: watchFromStart });
    const begin = () => {
      unstarted.delete(identity.id);
      (actor as Actor<AnyStateMachine>).start();
      const first = checkpoint();
      if (identity.resetJournal) void first?.then(() => durability?.journalReset(identity.id));
    };
    if (!durability || !claim) begin();
    else {
      // Until its claim commits the actor has not started: a run stopped meanwhile (close(), a lost lease) only
      // has its result settled.
      unstarted.set(identity.id, (reason) => {
        unstarted.delete(identity.id);
        ended();
        identities.delete(identity.id);
        stopping.delete(identity.id);
        run?.abandon(reason);
      });
      durability.claim(identity, lease.owner, ownership?.until() ?? 0).then(
        (claimed) => {
          if (claimed && unstarted.has(identity.id)) return begin();
          if (claimed) return;
          logger.error(
            { workflowId: identity.id },
            'run id already used by another stored run: run not started',
          );
          unstarted.get(identity.id)?.(new RunIdTakenError(identity.id));
        },
        (error: unknown) => {
          unstarted.get(identity.id)?.(
            new FlowstateError('INTERNAL', `Run '${identity.id}' could not be stored`, {
              cause: error,
              workflowId: identity.id,
            }),
          );
        },
      );
    }
    return run;
  };

  /** Takes a stored run's lease, then continues it here (or settles it when its definition changed). */
  const takeOver = async (id: string): Promise<WorkflowRun> => {
    if (!durability) {
      throw new ConfigurationError('resume needs a store: createEngine({ store: sqliteStore(path) })', {
        workflowId: id,
      });
    }
    const stored = await durability.store.getRun(id);
    if (!stored) throw new FlowstateError('RUN_NOT_FOUND', `No stored run '${id}'`, { workflowId: id });
    if (!UNFINISHED.includes(stored.status)) {
      throw new ConfigurationError(
        `Run '${id}' already ended (${stored.status}); read it with engine.get(id)`,
        {
          workflowId: id,
        },
      );
    }
    const definition = workflows.get(stored.workflow);
    if (!definition) {
      throw new ConfigurationError(
        `Run '${id}' needs workflow '${stored.workflow}': register it with the engine`,
        {
          workflowId: id,
        },
      );
    }
    const now = Date.now();
    const held = await durability.store.acquire(id, lease.owner, now, now + lease.ttlMs);
    if (!held) throw new RunOwnedError(id, stored.owner, stored.leaseUntil);
    durability.leases.set(id, held);
    try {
      return await restore(definition, stored);
    } catch (error) {
      durability.leases.delete(id);
      await durability.store.release(lease.owner, [id]).catch(() => {});
      throw error;
    }
  };

  /** Restores a stored run whose lease this engine holds. */
  const restore = async (definition: AnyWorkflowDefinition, stored: StoredRun): Promise<WorkflowRun> => {
    const { id } = stored;
    let snapshot: Snapshot<unknown> | undefined;
    let input: unknown;
    try {
      snapshot = stored.snapshot
        ? (parseSealed(stored.snapshot, options.secrets) as Snapshot<unknown>)
        : undefined;
      input = openValue(stored.input, options.secrets);
    } catch (cause) {
      unrecoverable.add(id);
      throw new CorruptRunError(id, cause);
    }
    let decision: MigrationDecision | undefined;
    if (definition.version !== stored.version) {
      const hook = options.migrate?.[stored.workflow];
      const mismatch = new DefinitionVersionError(id, stored.workflow, stored.version, definition.version);
      if (!hook) {
        logger.error({ workflowId: id, err: mismatch }, 'run of a changed definition marked failed');
        await (durability as Durability).end(stored, leaseOf(id), 'failed', serializeError(mismatch));
        throw mismatch;
      }
      decision = await hook({
        id,
        workflow: stored.workflow,
        version: stored.version,
        definition,
        input,
        snapshot,
      });
      if (decision.action === 'cancel') {
        const reason = new CancelledError(decision.reason ?? `Run '${id}' was cancelled by its migration`, {
          workflowId: id,
        });
        await (durability as Durability).end(stored, leaseOf(id), 'cancelled', serializeError(reason));
        throw reason;
      }
      if (decision.action === 'restart' && 'input' in decision) input = decision.input;
      if (decision.action === 'snapshot') snapshot = decision.snapshot as Snapshot<unknown>;
    }
    const restart = decision?.action === 'restart' || snapshot === undefined;
    const identity: RunIdentity = {
      id,
      workflow: stored.workflow,
      version: definition.version,
      input,
      createdAt: stored.createdAt,
      secrets: secretValues(definition.spec.options.secrets, input),
      ...(decision?.action === 'restart' ? { resetJournal: true } : {}),
    };
    logger.info({ workflowId: id, workflow: stored.workflow }, 'run resumed');
    try {
      return launch(
        definition,
        identity,
        restart
          ? { input: { workflowId: id, input, validated: true } }
          : { snapshot: snapshot as Snapshot<unknown> },
        false,
      );
    } catch (cause) {
      unrecoverable.add(id);
      throw cause instanceof FlowstateError ? cause : new CorruptRunError(id, cause);
    }
  };
  const leaseOf = (id: string) => durability?.leases.get(id) ?? { owner: lease.owner, epoch: -1 };

  /** Sends a signal to a run here, or through the store to the engine that owns it. */
  const signal = async (
    runId: string,
    kind: 'event' | 'decision' | 'cancel',
    body: SignalBody,
    timeoutMs = SIGNAL_TIMEOUT_MS,
  ): Promise<unknown> => {
    const here = active.get(runId);
    if (here) return applySignal(here, kind, body);
    if (settling(runId)) {
      throw new ConfigurationError(`Run '${runId}' already ended`, { workflowId: runId });
    }
    if (!durability)
      throw new FlowstateError('RUN_NOT_FOUND', `No active run '${runId}'`, { workflowId: runId });
    const stored = await durability.store.getRun(runId);
    if (!stored) throw new FlowstateError('RUN_NOT_FOUND', `No stored run '${runId}'`, { workflowId: runId });
    if (!UNFINISHED.includes(stored.status)) {
      throw new ConfigurationError(`Run '${runId}' already ended (${stored.status})`, { workflowId: runId });
    }
    const orphan = !stored.owner || (stored.leaseUntil ?? 0) <= Date.now() || stored.owner === lease.owner;
    if (orphan && workflows.has(stored.workflow) && !closed) {
      // No live owner: take the run here and apply the signal to it.
      const run = await engine.resume(runId).catch((error: unknown) => {
        if (error instanceof FlowstateError && error.code === 'RUN_OWNED') return undefined;
        throw error;
      });
      if (run) return applySignal(run, kind, body);
    } else if (orphan && kind === 'cancel') {
      // No live owner and no definition here: end it in the store (no compensation can run without the definition).
      const now = Date.now();
      const held = await durability.store.acquire(runId, lease.owner, now, now + lease.ttlMs);
      if (held) {
        const reason = new CancelledError((body as { reason?: string }).reason ?? 'The run was cancelled', {
          workflowId: runId,
        });
        await durability.end(stored, held, 'cancelled', serializeError(reason));
        return null;
      }
    }
    return postSignal(durability.store, runId, kind, body, timeoutMs);
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
      if (closed) throw new ConfigurationError('The engine is closed: create a new one to start runs');
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
      return launch(definition, identity, { input: { workflowId: id, input: value, validated: true } }, true);
    },
    async resume(id) {
      const live = active.get(id);
      if (live) return live;
      if (settling(id)) {
        throw new ConfigurationError(`Run '${id}' already ended here; read it with engine.get(id)`, {
          workflowId: id,
        });
      }
      if (closed) throw new ConfigurationError('The engine is closed', { workflowId: id });
      await learned.loaded;
      const inFlight = resuming.get(id);
      if (inFlight) return inFlight;
      const taking = takeOver(id).finally(() => resuming.delete(id));
      resuming.set(id, taking);
      return taking;
    },
    async recover() {
      const runs: WorkflowRun[] = [];
      const now = Date.now();
      for (const record of await engine.list({ status: UNFINISHED, limit: Number.MAX_SAFE_INTEGER })) {
        if (active.has(record.id) || settling(record.id)) continue;
        // Owned by a live engine: it goes on there (taken over here only once its lease expires).
        if (record.owner && record.owner !== lease.owner && (record.leaseUntil ?? 0) > now) continue;
        try {
          runs.push(await engine.resume(record.id));
        } catch (error) {
          const owned = error instanceof FlowstateError && error.code === 'RUN_OWNED';
          if (!owned) logger.error({ err: error, workflowId: record.id }, 'run could not be recovered');
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
    send: (runId, event, signalOptions) =>
      signal(runId, 'event', { event }, signalOptions?.timeoutMs) as Promise<boolean>,
    resolveEscalation: async (runId, stepPath, decision, signalOptions) => {
      await signal(runId, 'decision', { stepPath, decision }, signalOptions?.timeoutMs);
    },
    cancel: async (runId, reason, signalOptions) => {
      await signal(runId, 'cancel', reason === undefined ? {} : { reason }, signalOptions?.timeoutMs);
    },
    owner: lease.owner,
    async flush() {
      await learned.loaded;
      await durability?.writer.flush();
    },
    async close() {
      if (closed) return;
      closed = true;
      await learned.loaded;
      if (!durability) return;
      await ownership?.stop();
      await inbox?.stop();
      await Promise.allSettled(resuming.values());
      // Hand the runs over: stop their copies here (nothing more written), commit what is queued, release leases.
      const handed = [...active.keys()];
      for (const id of handed) {
        const reason = new LeaseLostError(id, true);
        handedOver.add(reason);
        lose(id, reason);
      }
      await durability.writer.flush();
      const held = [...durability.leases.keys()];
      await durability.store
        .release(lease.owner, [...new Set([...handed, ...held])])
        .catch((error: unknown) => {
          logger.warn({ err: error }, 'leases not released: other engines take the runs when they expire');
        });
      durability.leases.clear();
      await durability.store.close();
    },
  };
  for (const definition of options.workflows ?? []) engine.register(definition);
  return engine;
}
