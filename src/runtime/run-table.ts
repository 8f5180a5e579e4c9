import type { MachineInput } from '../machine/context.js';
import type { WorkflowRun } from './run.js';
import type { RunEntry } from './run-entry.js';

export type { RunEntry, RunPhase } from './run-entry.js';

/**
 * The runs of one engine, by id: one record per run instead of a map per concern. `active` is the public view
 * (`engine.active`): the runs claiming or live here, read from the same map (a second map would cost every live
 * run a slot).
 */
export class RunTable {
  private readonly entries = new Map<string, RunEntry>();
  /** How many entries are claiming or live (the size of `active`). */
  private activeCount = 0;
  readonly active: ReadonlyMap<string, WorkflowRun> = new ActiveRuns(this.entries, () => this.activeCount);

  add(entry: RunEntry): RunEntry {
    const id = entry.identity.id;
    const was = this.entries.get(id);
    if (was) {
      // A run that ended here and is still settling, replaced by a new run of the same id: the new one is listed
      // last, as a run that started now.
      if (was.phase !== 'settling') this.activeCount--;
      this.entries.delete(id);
    }
    this.entries.set(id, entry);
    if (entry.phase !== 'settling') this.activeCount++;
    return entry;
  }

  get(id: string): RunEntry | undefined {
    return this.entries.get(id);
  }

  /** The run's actor ended (or never will start): it leaves `active`, and settles. */
  ended(entry: RunEntry): void {
    if (entry.phase !== 'settling' && this.entries.get(entry.identity.id) === entry) this.activeCount--;
    entry.phase = 'settling';
  }

  /** The run is done here: nothing of it is kept. */
  forget(entry: RunEntry): void {
    const id = entry.identity.id;
    if (this.entries.get(id) !== entry) return;
    this.entries.delete(id);
    if (entry.phase !== 'settling') this.activeCount--;
  }

  /**
   * The entry of the run whose root actor this is, if it is one of this table's (found by the run id in the actor's
   * input, which the engine gives every run it launches).
   */
  ofActor(actor: unknown): RunEntry | undefined {
    const id = (actor as { options?: { input?: MachineInput } }).options?.input?.workflowId;
    const entry = id === undefined ? undefined : this.entries.get(id);
    return entry?.run.actor === actor ? entry : undefined;
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

/** The runs claiming or live in a table, as a read-only map by id: a view of the table's entries, in their order. */
class ActiveRuns implements ReadonlyMap<string, WorkflowRun> {
  constructor(
    private readonly table: ReadonlyMap<string, RunEntry>,
    private readonly count: () => number,
  ) {}

  get size(): number {
    return this.count();
  }

  get(id: string): WorkflowRun | undefined {
    const entry = this.table.get(id);
    return entry && entry.phase !== 'settling' ? entry.run : undefined;
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  *entries(): MapIterator<[string, WorkflowRun]> {
    for (const [id, entry] of this.table) if (entry.phase !== 'settling') yield [id, entry.run];
  }

  *keys(): MapIterator<string> {
    for (const [id] of this.entries()) yield id;
  }

  *values(): MapIterator<WorkflowRun> {
    for (const [, run] of this.entries()) yield run;
  }

  [Symbol.iterator](): MapIterator<[string, WorkflowRun]> {
    return this.entries();
  }

  forEach(
    fn: (run: WorkflowRun, id: string, map: ReadonlyMap<string, WorkflowRun>) => void,
    self?: unknown,
  ): void {
    for (const [id, run] of this.entries()) fn.call(self, run, id, this);
  }

  get [Symbol.toStringTag](): string {
    return 'ActiveRuns';
  }
}
