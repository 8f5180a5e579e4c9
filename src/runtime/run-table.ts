import type { FlowstateError } from '../model/errors.js';
import type { RunIdentity } from './durability.js';
import type { WorkflowRun } from './run.js';

/**
 * Where a run of this engine is in its life here:
 * - `claiming`: its id is being claimed in the store; its actor has not started (no agent called yet);
 * - `live`: its actor runs here;
 * - `settling`: its actor ended; its final state is being committed (it must not be taken again meanwhile).
 */
export type RunPhase = 'claiming' | 'live' | 'settling';

/** One run of this engine: what it is, where it is, and, once it is being stopped from outside, why. */
export interface RunEntry {
  readonly identity: RunIdentity;
  readonly run: WorkflowRun;
  phase: RunPhase;
  /** Why this copy stops without writing anything more (its lease moved on, close() hands it over...). */
  stopReason?: FlowstateError;
  /** Whether the stop is a hand-over (close()), not a loss: nothing to warn about. */
  handedOver?: boolean;
  /** The run was passivated: its actor stopped with its state in the store; it ends nowhere, it will be woken. */
  passivated?: boolean;
}

/**
 * The runs of one engine, by id: one record per run instead of a map per concern. `active` is the public view
 * (`engine.active`): the runs claiming or live here.
 */
export class RunTable {
  private readonly entries = new Map<string, RunEntry>();
  readonly active = new Map<string, WorkflowRun>();

  add(identity: RunIdentity, run: WorkflowRun, phase: RunPhase): RunEntry {
    const entry: RunEntry = { identity, run, phase };
    this.entries.set(identity.id, entry);
    this.active.set(identity.id, run);
    return entry;
  }

  get(id: string): RunEntry | undefined {
    return this.entries.get(id);
  }

  /** The run's actor ended (or never will start): it leaves `active`, and settles. */
  ended(entry: RunEntry): void {
    entry.phase = 'settling';
    this.active.delete(entry.identity.id);
  }

  /** The run is done here: nothing of it is kept. */
  forget(entry: RunEntry): void {
    if (this.entries.get(entry.identity.id) === entry) this.entries.delete(entry.identity.id);
    if (this.active.get(entry.identity.id) === entry.run) this.active.delete(entry.identity.id);
  }

  /** Whether the run ended here and its final state is being committed. */
  settling(id: string): boolean {
    return this.entries.get(id)?.phase === 'settling';
  }

  /** The secret values of a run of this engine (to seal and scrub what it writes). */
  secretsOf(id: string): ReadonlySet<string> | undefined {
    return this.entries.get(id)?.identity.secrets;
  }
}
