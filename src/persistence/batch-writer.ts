import type { HistoryRow, JournalEntry, StoreBatch, StoredRun, TimerRow, WorkflowStore } from './types.js';

/** A run's checkpoint: its record with the snapshot, and its pending deadlines. */
export interface Checkpoint {
  readonly run: StoredRun;
  readonly timers: readonly TimerRow[];
}

// Store I/O runs on real time even under fake timers: batching is not timing logic.
const nextTick: (fn: () => void) => void = globalThis.setImmediate ?? ((fn) => setTimeout(fn, 0));

/**
 * Group commit: checkpoints, journal entries and learned durations queued in the same tick go to the store in one transaction, one
 * transaction in flight at a time, so durability costs one write per batch rather than one per transition.
 * A run checkpointed twice in a batch is written once, with its latest state.
 */
export class BatchWriter {
  private runs = new Map<string, () => Checkpoint>();
  private journal: JournalEntry[] = [];
  private history = new Map<string, () => HistoryRow | undefined>();
  private waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  /** The promise every write queued in the current batch shares (one per batch, not one per write). */
  private batchDone: Promise<void> | undefined;
  private scheduled = false;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly store: WorkflowStore,
    /** Told of every failed batch (callers may not await their writes). */
    private readonly onError: (error: unknown) => void = () => {},
    /** Told of each run whose checkpoint the store refused: another run holds its id. */
    private readonly onRefused: (runId: string) => void = () => {},
  ) {}

  /**
   * Queues a checkpoint of a run; resolves once it is committed. `take` runs when the batch is written, so a run
   * that changes many times in a tick is serialized once, in its latest state.
   */
  checkpoint(runId: string, take: () => Checkpoint): Promise<void> {
    this.runs.set(runId, take);
    return this.enqueue();
  }

  /** Queues a journal entry; resolves once it is committed. */
  record(entry: JournalEntry): Promise<void> {
    this.journal.push(entry);
    return this.enqueue();
  }

  /**
   * Queues what the progress tracker learned about a path; `take` runs when the batch is written, so a path that
   * learns many times in a tick (many runs of one workflow) is written once, in its latest state (none if `take`
   * finds it forgotten).
   */
  learned(key: string, take: () => HistoryRow | undefined): Promise<void> {
    this.history.set(key, take);
    return this.enqueue();
  }

  /** Resolves when everything queued so far is committed. */
  async flush(): Promise<void> {
    if (this.runs.size > 0 || this.journal.length > 0 || this.history.size > 0) await this.enqueue();
    else await this.inFlight;
  }

  private enqueue(): Promise<void> {
    if (!this.batchDone) {
      this.batchDone = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
      // Callers may drop the promise; a failed batch is reported by whoever awaits it, never as unhandled.
      this.batchDone.catch(() => {});
    }
    if (!this.scheduled) {
      this.scheduled = true;
      nextTick(() => void this.drain());
    }
    return this.batchDone;
  }

  private async drain(): Promise<void> {
    // One transaction at a time keeps checkpoints of a run in order.
    await this.inFlight?.catch(() => {});
    this.scheduled = false;
    this.batchDone = undefined;
    const waiters = this.waiters;
    let batch: StoreBatch;
    try {
      batch = {
        runs: [...this.runs.values()].map((take) => take()),
        journal: this.journal,
        history: [...this.history.values()].flatMap((take) => take() ?? []),
      };
    } catch (error) {
      this.onError(error);
      for (const w of waiters) w.reject(error);
      return;
    } finally {
      this.runs = new Map();
      this.journal = [];
      this.history = new Map();
      this.waiters = [];
    }
    if (batch.runs.length === 0 && batch.journal.length === 0 && batch.history?.length === 0) {
      for (const w of waiters) w.resolve();
      return;
    }
    this.inFlight = this.store.write(batch).then((result) => {
      for (const id of result?.refused ?? []) this.onRefused(id);
    });
    try {
      await this.inFlight;
      for (const w of waiters) w.resolve();
    } catch (error) {
      this.onError(error);
      for (const w of waiters) w.reject(error);
    }
  }
}
