import { type Actor, type AnyStateMachine, createActor, type InspectionEvent, type Snapshot } from 'xstate';
import type { Clock } from '../machine/clock.js';
import { rearmWaits } from '../machine/compile-wait.js';
import type { MachineInput } from '../machine/context.js';
import type { AnyWorkflowDefinition } from '../model/definition.js';
import { CorruptRunError, FlowstateError, LeaseLostError, RunIdTakenError } from '../model/errors.js';
import { inspectionObserver } from '../observability/inspect.js';
import { unstorableReason } from '../persistence/storable.js';
import type { HeldLease } from '../persistence/types.js';
import { restoredSteps } from '../progress/restored.js';
import type { Durability, RunIdentity } from './durability.js';
import type { EngineCore } from './engine-core.js';
import { WorkflowRun } from './run.js';
import { checkpoint, entryEnded } from './run-end.js';
import { RunEntry } from './run-entry.js';
import { rearmDelayedEvents } from './scheduled.js';

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
  /** A new run's input as its row stores it, made as it started (`Durability.storedInput`): claimed as it is. */
  inputJson?: string,
): WorkflowRun {
  const { durability, logger, table } = core;
  let entry: RunEntry | undefined;
  const observer = inspectionObserver(core.options.inspect);
  // Inspection costs about half a transition: only runs that checkpoint or are watched pay for it.
  const inspect = durability
    ? (event: InspectionEvent) => {
        if (event.type === '@xstate.snapshot' && entry) void checkpoint(durability, entry);
        observer?.(event);
      }
    : observer;
  // XState's delayed events (a wait's timeout) run on the engine's clock.
  const options = { ...actorOptions, clock: core.clock };
  const actor: Actor<AnyStateMachine> = createActor(machine, inspect ? { ...options, inspect } : options);
  if (actor.getSnapshot().status === 'error')
    throw new CorruptRunError(identity.id, actor.getSnapshot().error);
  const run = new WorkflowRun(identity.id, definition, actor, core.binder);
  entry = table.add(new RunEntry(core.endRun, run, durability && claim ? 'claiming' : 'live', identity));
  // The entry observes the actor's end (before any watch does): the engine's bookkeeping, then the run's result.
  actor.subscribe(entry);
  // A restored run lists the steps it ended before it was stored, as a run watched from its start does.
  if ('snapshot' in actorOptions) core.learner.restored(identity.id, restoredSteps(actor, core.clock.now()));
  core.watcher.launched(actor, identity, core.watchFromStart);
  if (!durability || !claim) {
    begin(entry, durability, core.clock);
    return run;
  }
  const claiming = entry;
  const abandon = (reason: FlowstateError) => {
    if (claiming.phase !== 'claiming') return;
    entryEnded(core, claiming);
    table.forget(claiming);
    run.abandon(reason);
  };
  durability.claim(identity, core.lease.owner, core.ownership?.until() ?? 0, inputJson).then(
    (claimed) => {
      // Stopped while claiming (close(), a lost lease): its result is settled already; nothing starts.
      if (claiming.phase !== 'claiming') return;
      if (claiming.stopReason) return abandon(claiming.stopReason);
      if (claimed) return begin(claiming, durability, core.clock);
      logger.error({ workflowId: identity.id }, 'run id already used by another stored run: run not started');
      abandon(new RunIdTakenError(identity.id));
    },
    (error: unknown) =>
      abandon(
        // An input JSON cannot hold is the caller's (INPUT_INVALID): nothing of the run was written.
        error instanceof FlowstateError
          ? error
          : new FlowstateError('INTERNAL', `Run '${identity.id}' could not be stored`, {
              cause: error,
              workflowId: identity.id,
            }),
      ),
  );
  return run;
}

/** Starts a run's actor (its id is claimed, or needs no claim) and writes its first checkpoint. */
function begin(entry: RunEntry, durability: Durability | undefined, clock: Clock): void {
  entry.phase = 'live';
  entry.run.actor.start();
  // A restored run's waits time out when their deadlines (in its snapshot) come, and its machines' other delayed
  // events (a hand-written machine's `after`) are sent when they are due: XState restores no delayed event.
  const { snapshot } = entry.run.actor.options;
  if (snapshot !== undefined) {
    rearmDelayedEvents(entry.run.actor, snapshot, clock);
    rearmWaits(entry.run.actor, clock);
  }
  if (!durability) return;
  const first = checkpoint(durability, entry);
  if (entry.identity.resetJournal) void first?.then(() => durability.journalReset(entry.identity.id));
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
  // A copy whose run goes on elsewhere keeps saying where the run is (not `cancelled`, as its stopped actor would).
  const elsewhere = reason instanceof LeaseLostError;
  if (entry.phase === 'claiming') {
    core.table.ended(entry);
    core.table.forget(entry);
    // Claimed (or being claimed), never started: stored as `running`, for the next engine to start.
    if (elsewhere) entry.run.passivate({ status: 'running', waiting: [] });
    entry.run.abandon(reason);
    return;
  }
  if (entry.phase !== 'live') return;
  if (!handedOver) core.logger.warn({ workflowId: runId }, 'run owned by another engine now: copy stopped');
  // Its last live state, if queued, is written as it is now, not as the stopped actor it is about to become.
  core.durability?.writer.freeze(runId);
  if (elsewhere) entry.run.passivate();
  entry.run.actor.stop();
}

/** A run whose state cannot be stored as JSON: its copy stops; its last good checkpoint goes to whichever engine takes it next. */
export function unwritable(core: EngineCore, runId: string, cause: unknown): void {
  const reason = new FlowstateError(
    'INTERNAL',
    `Run '${runId}' holds a value that cannot be stored as JSON: ${unstorableReason(cause)}`,
    {
      cause,
      workflowId: runId,
    },
  );
  const { durability, lease } = core;
  // The lease as held now: the copy's end forgets it, and its release must not end a lease taken after it.
  const held = durability?.leases.get(runId);
  lose(core, runId, reason);
  // Taken again here it would reach the same state and stop again, at every round of adoption: left to another
  // engine, or to an explicit resume.
  core.unrecoverable.add(runId);
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
