import type { FlowstateError } from '../model/errors.js';
import type { RunIdentity } from './durability.js';
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

/**
 * One run of this engine: what it is (its identity: the fields a run's identity holds beyond its run object, kept
 * here rather than in an object of their own), where it is, and, once it is being stopped from outside, why. It is
 * also the observer of the run's actor, so a live run costs one object here, not a set of closures: when the actor
 * ends, the engine's bookkeeping runs (`runEnded`, in run-end.ts) and then the run's result settles.
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
    /** The engine's bookkeeping when the run's actor ends (one function per engine, shared by its entries). */
    private readonly endRun: (entry: RunEntry) => RunEnd,
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
    this.run.settle(this.endRun(this));
  }

  /** The actor stopped on an error its machine did not handle (XState calls it as an observer). */
  error(cause: unknown): void {
    this.run.settle(this.endRun(this), { cause });
  }
}
