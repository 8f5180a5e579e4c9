import type { Logger } from 'pino';
import { type Actor, type AnyStateMachine, createActor, type InspectionEvent, type Snapshot } from 'xstate';
import type { Clock } from '../machine/clock.js';
import { rearmWaits } from '../machine/compile-wait.js';
import type { MachineInput } from '../machine/context.js';
import type { AnyWorkflowDefinition } from '../model/definition.js';
import { CorruptRunError, FlowstateError, LeaseLostError, RunIdTakenError } from '../model/errors.js';
import { inspectionObserver } from '../observability/inspect.js';
import type { HeldLease, RunRecord } from '../persistence/types.js';
import type { PendingWatch, runWatcher } from '../progress/runs.js';
import type { Binder } from './bind.js';
import type { Durability, RunIdentity } from './durability.js';
import type { EngineOptions } from './engine-types.js';
import type { EngineLearner } from './learner.js';
import type { LeaseSettings, Ownership } from './ownership.js';
import { WorkflowRun } from './run.js';
import type { RunEntry, RunTable } from './run-table.js';

/** How many finished runs an engine without a store remembers for `get` and `list`. */
const MEMORY_RECORDS = 1_000;

/** What the parts of an engine share: its settings, its runs, and the services it wired. */
export interface EngineCore {
  readonly options: EngineOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly lease: LeaseSettings;
  readonly table: RunTable;
  readonly durability: Durability | undefined;
  ownership: Ownership | undefined;
  readonly binder: Binder;
  readonly learner: EngineLearner;
  readonly watchRun: ReturnType<typeof runWatcher>;
  /** Step lines go to the logger from a run's first step: only then is a run watched from its start. */
  readonly watchFromStart: boolean;
  /** Without a store: the runs that ended, for `get` and `list`. */
  readonly finished: Map<string, RunRecord>;
  readonly workflows: Map<string, AnyWorkflowDefinition>;
  /** Runs that cannot be resumed here (corrupt): the adoption loop leaves them to an operator. */
  readonly unrecoverable: Set<string>;
  closed: boolean;
}

/**
 * Creates, wires and starts the actor of a new or restored run. A new run on a store (`claim`) starts once its id
 * is claimed there: no agent runs for an id another run holds. A restored run already holds its lease.
 */
export function launch(
  core: EngineCore,
  definition: AnyWorkflowDefinition,
  identity: RunIdentity,
  /**
   * A restored run passes its input's `workflowId` beside its snapshot (XState ignores it there): a hand-written
   * machine's agent steps read the run id from the root actor's input, as its context does not carry it.
   */
  actorOptions: { input: MachineInput } | { snapshot: Snapshot<unknown>; input: MachineInput },
  claim: boolean,
  machine: AnyStateMachine = core.binder.machineFor(definition),
): WorkflowRun {
  const { durability, logger, table } = core;
  let entry: RunEntry | undefined;
  // A copy being stopped because it is no longer this engine's (fenced, handed over) writes nothing more. A run
  // without a store shares one no-op (a closure per run is kept as long as the run lives).
  const checkpoint = durability
    ? () =>
        entry && !entry.stopReason
          ? durability.checkpoint(identity, entry.run.actor, () => (entry as RunEntry).run.status)
          : undefined
    : noCheckpoint;
  const observer = inspectionObserver(core.options.inspect);
  // Inspection costs about half a transition: only runs that checkpoint or are watched pay for it.
  const inspect = durability
    ? (event: InspectionEvent) => {
        if (event.type === '@xstate.snapshot') void checkpoint();
        observer?.(event);
      }
    : observer;
  // XState's delayed events (a wait's timeout) run on the engine's clock.
  const options = { ...actorOptions, clock: core.clock };
  const actor: Actor<AnyStateMachine> = createActor(machine, inspect ? { ...options, inspect } : options);
  if (actor.getSnapshot().status === 'error')
    throw new CorruptRunError(identity.id, actor.getSnapshot().error);
  let pending: PendingWatch | undefined;
  const ended = (e: RunEntry) => {
    table.ended(e);
    // A watch set up after the end still lists the steps that ended unwatched (kept as long as the run is).
    pending?.keep(core.learner.forget(identity.id));
  };
  const run = new WorkflowRun(identity.id, definition, actor, core.binder, () => {
    const e = entry as RunEntry;
    ended(e);
    if (e.passivated) {
      // Not an end: the result stays pending (a copy woken here later settles it) and is collected if no one holds it.
      table.forget(e);
      return new Promise<never>(() => {});
    }
    const record = recordOf(core, identity, run);
    logger.info({ workflowId: identity.id, workflow: identity.workflow, status: record.status }, 'run ended');
    if (!durability) {
      table.forget(e);
      core.finished.set(identity.id, record);
      if (core.finished.size > MEMORY_RECORDS)
        core.finished.delete(core.finished.keys().next().value as string);
      return undefined;
    }
    const settle = () => {
      table.forget(e);
      durability.leases.delete(identity.id);
      return e.stopReason;
    };
    // A copy stopped because another engine owns the run (or close() hands it over) writes nothing more.
    if (e.stopReason) return Promise.resolve(settle());
    // The result is a promise about the store: it settles once the final state is committed.
    return (checkpoint() ?? Promise.resolve()).then(settle);
  });
  entry = table.add(identity, run, durability && claim ? 'claiming' : 'live');
  pending = core.watchRun(actor, identity, core.learner, { fromStart: core.watchFromStart });
  if (!durability || !claim) {
    begin(entry, checkpoint, durability, core.clock);
    return run;
  }
  const abandon = (reason: FlowstateError) => {
    const e = entry as RunEntry;
    if (e.phase !== 'claiming') return;
    ended(e);
    table.forget(e);
    run.abandon(reason);
  };
  durability.claim(identity, core.lease.owner, core.ownership?.until() ?? 0).then(
    (claimed) => {
      const e = entry as RunEntry;
      // Stopped while claiming (close(), a lost lease): its result is settled already; nothing starts.
      if (e.phase !== 'claiming') return;
      if (e.stopReason) return abandon(e.stopReason);
      if (claimed) return begin(e, checkpoint, durability, core.clock);
      logger.error({ workflowId: identity.id }, 'run id already used by another stored run: run not started');
      abandon(new RunIdTakenError(identity.id));
    },
    (error: unknown) =>
      abandon(
        new FlowstateError('INTERNAL', `Run '${identity.id}' could not be stored`, {
          cause: error,
          workflowId: identity.id,
        }),
      ),
  );
  return run;
}

/** The checkpoint of a run without a store: nothing to write. */
const noCheckpoint = (): undefined => undefined;

/** Starts a run's actor (its id is claimed, or needs no claim) and writes its first checkpoint. */
function begin(
  entry: RunEntry,
  checkpoint: () => Promise<unknown> | undefined,
  durability: Durability | undefined,
  clock: Clock,
): void {
  entry.phase = 'live';
  entry.run.actor.start();
  // A restored run's waits time out when their deadlines (in its snapshot) come: XState restores no delayed event.
  if (entry.run.actor.options.snapshot !== undefined) rearmWaits(entry.run.actor, clock);
  const first = checkpoint();
  if (entry.identity.resetJournal) void first?.then(() => durability?.journalReset(entry.identity.id));
}

/**
 * Stops this engine's copy of a run without writing anything more; its result rejects with `reason`. A run still
 * claiming has only its result settled; a run settling (its final write was fenced) rejects instead of resolving.
 */
export function lose(core: EngineCore, runId: string, reason: FlowstateError, handedOver = false): void {
  const entry = core.table.get(runId);
  if (!entry || entry.stopReason) return;
  entry.stopReason = reason;
  entry.handedOver = handedOver;
  if (entry.phase === 'claiming') {
    core.table.ended(entry);
    core.table.forget(entry);
    entry.run.abandon(reason);
    return;
  }
  if (entry.phase !== 'live') return;
  if (!handedOver) core.logger.warn({ workflowId: runId }, 'run owned by another engine now: copy stopped');
  // Its last live state, if queued, is written as it is now, not as the stopped actor it is about to become.
  core.durability?.writer.freeze(runId);
  entry.run.actor.stop();
}

/** A run whose state cannot be stored as JSON: its copy stops; its last good checkpoint goes to whichever engine takes it next. */
export function unwritable(core: EngineCore, runId: string, cause: unknown): void {
  const reason = new FlowstateError(
    'INTERNAL',
    `Run '${runId}' holds a value that cannot be stored as JSON`,
    {
      cause,
      workflowId: runId,
    },
  );
  const { durability, lease } = core;
  // The lease as held now: the copy's end forgets it, and its release must not end a lease taken after it.
  const held = durability?.leases.get(runId);
  lose(core, runId, reason);
  if (!durability || !held) return;
  void durability.writer
    .flush()
    .then(() => durability.store.release(lease.owner, [{ id: runId, epoch: held.epoch }]))
    .catch(() => {});
}

/**
 * `close()`: hands this engine's runs over. Their copies here stop (nothing more written), what is queued is
 * committed, and their leases are released so another engine takes them at once.
 */
export async function handOver(core: EngineCore, durability: Durability): Promise<void> {
  const { table, lease, logger } = core;
  const handed = [...table.active.keys()];
  // The leases as held before the copies stop (a stopped copy's end forgets its lease here).
  const before = new Map(durability.leases);
  for (const id of handed) lose(core, id, new LeaseLostError(id, true), true);
  await durability.writer.flush();
  const release: HeldLease[] = [];
  for (const id of new Set([...handed, ...durability.leases.keys()])) {
    const held = durability.leases.get(id) ?? before.get(id);
    if (held) release.push({ id, epoch: held.epoch });
  }
  await durability.store.release(lease.owner, release).catch((error: unknown) => {
    logger.warn({ err: error }, 'leases not released: other engines take the runs when they expire');
  });
  durability.leases.clear();
}

/** A run of this process as a record (what `get` and `list` return without a store). */
export function recordOf(core: EngineCore, identity: RunIdentity, run: WorkflowRun): RunRecord {
  const snapshot = run.actor.getSnapshot() as Snapshot<unknown> & {
    output?: { status: string; output?: unknown; error?: never };
  };
  const outcome = snapshot.status === 'done' ? snapshot.output : undefined;
  const { secrets: _secrets, resetJournal: _reset, ...record } = identity;
  return {
    ...record,
    status: run.status,
    ...(outcome?.status === 'done' ? { output: outcome.output } : {}),
    ...(outcome && outcome.status !== 'done' && outcome.error ? { error: outcome.error } : {}),
    updatedAt: core.clock.now(),
  };
}
