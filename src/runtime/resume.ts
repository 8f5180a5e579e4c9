import type { Snapshot } from 'xstate';
import { flatSnapshotOf } from '../machine/legacy-state-value.js';
import type { AnyWorkflowDefinition } from '../model/definition.js';
import {
  CancelledError,
  ConfigurationError,
  CorruptRunError,
  DefinitionVersionError,
  FlowstateError,
  RunOwnedError,
  StoredFormatError,
  serializeError,
} from '../model/errors.js';
import { openValue, parseSealed, secretValues } from '../persistence/secrets.js';
import { checkStoredFormat, FLAT_FORMAT, refuseNewerAtStart } from '../persistence/stored-format.js';
import { withRunInput } from '../persistence/stored-input.js';
import { type RunLease, type RunRecord, type StoredRun, UNFINISHED } from '../persistence/types.js';
import type { Durability, RunIdentity } from './durability.js';
import type { EngineCore } from './engine-core.js';
import type { MigrationDecision } from './engine-types.js';
import { storedEntries } from './entries.js';
import { launch } from './launch.js';
import { restoreMapsFromJournal } from './map-journal.js';
import type { WorkflowRun } from './run.js';

/** How many busy runs `recover()` of an engine that passivates restores at once. */
const RECOVER_BATCH = 50;

/**
 * `engine.recover()`: resumes the unfinished runs no live engine owns. An engine that passivates reads only the runs
 * that were busy at their last checkpoint and restores them in bounded batches; the idle ones stay in the store,
 * woken by its scheduler as they become due or are addressed, so an engine on a store of many waiting runs is
 * ready at once.
 */
export async function recoverRuns(
  core: EngineCore,
  resume: (id: string) => Promise<WorkflowRun>,
  passivates: boolean,
): Promise<WorkflowRun[]> {
  const { durability, lease, table, logger } = core;
  if (!durability) return [];
  const runs: WorkflowRun[] = [];
  const now = Date.now();
  const records = await durability.store.listRuns({
    status: UNFINISHED,
    ...(passivates ? { idle: false } : {}),
    limit: Number.MAX_SAFE_INTEGER,
  });
  const take = async (record: RunRecord) => {
    if (table.get(record.id)) return;
    // Owned by a live engine: it goes on there (taken over here only once its lease expires).
    if (record.owner && record.owner !== lease.owner && (record.leaseUntil ?? 0) > now) return;
    try {
      runs.push(await resume(record.id));
    } catch (error) {
      // Owned: another engine runs it. A newer format: warned of once when refused, left for a newer engine.
      const owned = error instanceof FlowstateError && error.code === 'RUN_OWNED';
      if (!owned && !(error instanceof StoredFormatError))
        logger.error({ err: error, workflowId: record.id }, 'run could not be recovered');
    }
  };
  const batch = passivates ? RECOVER_BATCH : 1;
  for (let i = 0; i < records.length; i += batch) await Promise.all(records.slice(i, i + batch).map(take));
  return runs;
}

/** Takes a stored run's lease, then continues it here (or settles it when its definition changed). */
export async function takeOver(core: EngineCore, id: string): Promise<WorkflowRun> {
  const { durability, lease } = core;
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
  const definition = core.workflows.get(stored.workflow);
  if (!definition) {
    throw new ConfigurationError(
      `Run '${id}' needs workflow '${stored.workflow}': register it with the engine`,
      {
        workflowId: id,
      },
    );
  }
  // A newer build's snapshot is refused before its lease is taken: the run is not touched at all.
  try {
    refuseNewerAtStart(stored.snapshot, id);
  } catch (error) {
    throw unreadable(core, id, error);
  }
  const now = Date.now();
  const held = await durability.store.acquire(id, lease.owner, now, now + lease.ttlMs);
  if (!held) throw new RunOwnedError(id, stored.owner, stored.leaseUntil);
  durability.leases.set(id, held);
  try {
    // Read again under the lease: between the read above and the lease, another engine may have taken the run,
    // moved it on (a signal applied and answered) and released it. Restoring the earlier read would undo that.
    const current = await durability.store.getRun(id);
    if (!current || current.owner !== lease.owner || current.epoch !== held.epoch)
      throw new RunOwnedError(id, current?.owner, current?.leaseUntil);
    return await restore(core, durability, definition, current, held);
  } catch (error) {
    durability.leases.delete(id);
    await durability.store.release(lease.owner, [{ id, epoch: held.epoch }]).catch(() => {});
    throw error;
  }
}

/** Restores a stored run whose lease this engine holds, through its migration if its definition changed. */
async function restore(
  core: EngineCore,
  durability: Durability,
  definition: AnyWorkflowDefinition,
  stored: StoredRun,
  held: RunLease,
): Promise<WorkflowRun> {
  const { id } = stored;
  const { options, logger } = core;
  let snapshot: Snapshot<unknown> | undefined;
  let input: unknown;
  try {
    input = openValue(stored.input, options.secrets);
    const parsed = stored.snapshot ? parseSealed(stored.snapshot, options.secrets) : undefined;
    // Before anything reads it: a snapshot of a newer format is refused (its lease released by the caller).
    const format = checkStoredFormat(parsed, id);
    // The snapshot stands a marker for the run's input, the record's: put back (opened) before anything reads it.
    snapshot = parsed ? withRunInput(parsed as Snapshot<unknown>, input) : undefined;
    // Stored before compiled machines were flat: its state value is of the old shape for certain (the machine's own
    // restore can only guess, and guesses wrong where a top-level node is named `running`).
    if (snapshot && format < FLAT_FORMAT)
      snapshot = flatSnapshotOf(core.binder.machineFor(definition), snapshot);
    // Before a migration hook sees the snapshot: its maps as they were, their results read back from the journal.
    await restoreMapsFromJournal(snapshot, durability.journal());
  } catch (cause) {
    throw unreadable(core, id, cause);
  }
  let decision: MigrationDecision | undefined;
  if (definition.version !== stored.version) {
    const hook = options.migrate?.[stored.workflow];
    const mismatch = new DefinitionVersionError(id, stored.workflow, stored.version, definition.version);
    if (!hook) {
      logger.error({ workflowId: id, err: mismatch }, 'run of a changed definition marked failed');
      await durability.end(stored, held, 'failed', serializeError(mismatch));
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
      await durability.end(stored, held, 'cancelled', serializeError(reason));
      throw reason;
    }
    if (decision.action === 'restart' && 'input' in decision) {
      input = decision.input;
      try {
        // A new input the store cannot hold is refused before the run restarts (its first checkpoint writes it).
        durability.storedInput(id, input, secretValues(definition.spec.options.secrets, input));
      } catch (error) {
        // The hook gives it again at every take: adoption and the scheduler leave the run to an operator.
        core.unrecoverable.add(id);
        throw error;
      }
    }
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
    const run = launch(
      core,
      definition,
      identity,
      restart
        ? { input: { workflowId: id, input, validated: true } }
        : { snapshot: snapshot as Snapshot<unknown>, input: { workflowId: id, ...storedEntries(snapshot) } },
      false,
    );
    // Restored after all (an operator mended it): adoption and the scheduler may take it again.
    core.unrecoverable.delete(id);
    return run;
  } catch (cause) {
    core.unrecoverable.add(id);
    throw cause instanceof FlowstateError ? cause : new CorruptRunError(id, cause);
  }
}

/**
 * The error a run that cannot be read is refused with; it is marked unrecoverable here, so adoption and the
 * wake-up scheduler leave it alone instead of taking (and releasing) it at every round. A run of a newer format is
 * warned of the first time only: it waits for an engine of a newer build, which is no fault of this one's.
 */
function unreadable(core: EngineCore, id: string, cause: unknown): FlowstateError {
  const error =
    cause instanceof StoredFormatError || cause instanceof CorruptRunError
      ? cause
      : new CorruptRunError(id, cause);
  if (error instanceof StoredFormatError && !core.unrecoverable.has(id))
    core.logger.warn(
      { workflowId: id, err: error },
      'run stored by a newer Flowstate left for an engine that reads it',
    );
  core.unrecoverable.add(id);
  return error;
}
