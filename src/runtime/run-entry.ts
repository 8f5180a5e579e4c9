import type { FlowstateError } from '../model/errors.js';
import type { RunRecord } from '../persistence/types.js';
import type { Durability, RunIdentity } from './durability.js';
import type { EngineCore } from './launch.js';
import type { WorkflowRun } from './run.js';
import type { RunEnd } from './run-result.js';

/**
 * Where a run of this engine is in its life here:
 * - `claiming`: its id is being claimed in the store; its actor has not started (no agent called yet);
 * - `live`: its actor runs here;
 * - `settling`: its actor ended; its final state is being committed (it must not be taken again meanwhile).
 */
export type RunPhase = 'claiming' | 'live' | 'settling';

/** The secrets of a run that has none (shared). */
const NO_SECRETS: ReadonlySet<string> = new Set();

/** How many finished runs an engine without a store remembers for `get` and `list`. */
const MEMORY_RECORDS = 1_000;

/**
 * One run of this engine: what it is (its identity: the fields a run's identity holds beyond its run object, kept
 * here rather than in an object of their own), where it is, and, once it is being stopped from outside, why. It is
 * also the observer of the run's actor, so a live run costs one object here, not a set of closures: when the actor
 * ends, the engine's bookkeeping runs ({@link runEnded}) and then the run's result settles.
 */
export class RunEntry implements RunIdentity {
  readonly input: unknown;
  readonly createdAt: number;
  readonly secrets: ReadonlySet<string>;
  /** The run restarts from its input (a migration): its journal is cleared with its first checkpoint. */
  declare readonly resetJournal?: boolean;
  /** Why this copy stops without writing anything more (its lease moved on, close() hands it over...). */
  declare stopReason?: FlowstateError;
  /** Whether the stop is a hand-over (close()), not a loss: nothing to warn about. */
  declare handedOver?: boolean;
  /** The run was passivated: its actor stopped with its state in the store; it ends nowhere, it will be woken. */
  declare passivated?: boolean;

  constructor(
    private readonly core: EngineCore,
    readonly run: WorkflowRun,
    public phase: RunPhase,
    identity: RunIdentity,
  ) {
    this.input = identity.input;
    this.createdAt = identity.createdAt;
    this.secrets = identity.secrets ?? NO_SECRETS;
    if (identity.resetJournal) (this as { resetJournal?: boolean }).resetJournal = true;
  }

  /** The run id. */
  get id(): string {
    return this.run.id;
  }

  /** The workflow: the run's definition (an engine finds a stored run's definition by this id). */
  get workflow(): string {
    return this.run.definition.id;
  }

  /** The version of the definition the run runs (a resumed run's, after any migration, is its definition's). */
  get version(): string {
    return this.run.definition.version;
  }

  /** What the run is, as the store and the watch read it: this entry. */
  get identity(): RunIdentity {
    return this;
  }

  /** The actor is done, or was stopped (XState calls it as an observer). */
  complete(): void {
    this.run.settle(runEnded(this.core, this));
  }

  /** The actor stopped on an error its machine did not handle (XState calls it as an observer). */
  error(cause: unknown): void {
    this.run.settle(runEnded(this.core, this), { cause });
  }
}

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
function runEnded(core: EngineCore, e: RunEntry): RunEnd {
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
