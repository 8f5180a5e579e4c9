import type { RunRecord } from '../persistence/types.js';
import type { Durability, RunIdentity } from './durability.js';
import type { EngineCore } from './engine-core.js';
import type { WorkflowRun } from './run.js';
import type { RunEntry } from './run-entry.js';
import type { RunEnd } from './run-result.js';

/** How many finished runs an engine without a store remembers for `get` and `list`. */
const MEMORY_RECORDS = 1_000;

/**
 * The run's actor ended (or never will start): it leaves `active`, and a watch set up after the end still lists
 * the steps that ended unwatched (kept as long as the run is).
 */
export function entryEnded(core: EngineCore, entry: RunEntry): void {
  core.table.ended(entry);
  const { id, workflow, createdAt } = entry;
  // What the watch needs of the run, not the entry (which holds the engine's bookkeeping).
  core.watcher.ended(entry.run.actor, { id, workflow, createdAt }, core.learner.forget(id));
}

/**
 * What the engine does when a run's actor ends: the run leaves the table, its record is kept (without a store) or
 * its final state committed (with one). Returns what the run's result waits for before it settles.
 */
export function runEnded(core: EngineCore, e: RunEntry): RunEnd {
  const { durability, logger, table } = core;
  const { identity } = e;
  entryEnded(core, e);
  if (e.passivated) {
    // Not an end: the result stays pending (a copy woken here later settles it) and is collected if no one holds it.
    table.forget(e);
    return 'passivated';
  }
  const record = recordOf(core, identity, e.run);
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
  return (checkpoint(durability, e) ?? Promise.resolve()).then(settle);
}

/**
 * Queues a checkpoint of a run. A copy being stopped because it is no longer this engine's (fenced, handed over)
 * writes nothing more.
 */
export function checkpoint(durability: Durability, entry: RunEntry): Promise<void> | undefined {
  return entry.stopReason
    ? undefined
    : durability.checkpoint(entry.identity, entry.run.actor, () => entry.run.status);
}

/** A run of this process as a record (what `get` and `list` return without a store). */
export function recordOf(core: EngineCore, identity: RunIdentity, run: WorkflowRun): RunRecord {
  const snapshot = run.actor.getSnapshot() as {
    status: string;
    output?: { status: string; output?: unknown; error?: never };
  };
  const outcome = snapshot.status === 'done' ? snapshot.output : undefined;
  const { id, workflow, version, input, createdAt } = identity;
  return {
    id,
    workflow,
    version,
    input,
    createdAt,
    status: run.status,
    ...(outcome?.status === 'done' ? { output: outcome.output } : {}),
    ...(outcome && outcome.status !== 'done' && outcome.error ? { error: outcome.error } : {}),
    updatedAt: core.clock.now(),
  };
}
