import type { SerializedError } from '../model/errors.js';

/** Where a run is. `waiting` means a step waits on a human: an escalation or a `waitFor`. */
export type RunStatus = 'running' | 'waiting' | 'done' | 'failed' | 'cancelled' | 'compensated';

/** The statuses of runs that have not ended (what `engine.recover()` resumes). */
export const UNFINISHED: readonly RunStatus[] = ['running', 'waiting'];

/** What the store keeps about a run, as `engine.get(id)` returns it. */
export interface RunRecord {
  readonly id: string;
  /** The definition id. */
  readonly workflow: string;
  /** The definition's version hash when the run started. */
  readonly version: string;
  readonly status: RunStatus;
  readonly input: unknown;
  readonly output?: unknown;
  readonly error?: SerializedError;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A run record with its last checkpoint: the persisted XState snapshot as JSON text. */
export interface StoredRun extends RunRecord {
  readonly snapshot: string;
}

/** A pending deadline of a run (a backoff, an escalation, a wait), written with each checkpoint. */
export interface TimerRow {
  readonly runId: string;
  readonly stepPath: string;
  readonly kind: 'backoff' | 'escalation' | 'wait';
  /** Epoch milliseconds. */
  readonly deadline: number;
}

/** A step attempt's output, stored under its idempotency key before the workflow moves on. */
export interface JournalEntry {
  /** `runId:stepPath:attempt`. */
  readonly key: string;
  readonly runId: string;
  readonly stepPath: string;
  readonly attempt: number;
  /** The output as JSON text. */
  readonly output: string;
  readonly createdAt: number;
}

/**
 * What the progress tracker learned about one path of a workflow (the definition id, not a run): a step's duration
 * estimate, or the weights of a branch's arms or a loop's round counts. The ETA of later runs starts from it.
 */
export interface HistoryRow {
  /** The definition id. */
  readonly workflow: string;
  /** A step path, `map[*]`, or the name of a branch, loop, map or wait. */
  readonly path: string;
  readonly kind: 'duration' | 'choice';
  /** The learned state as JSON text (its shape belongs to the history that wrote it). */
  readonly state: string;
  readonly updatedAt: number;
}

/** One atomic write: checkpoints of runs (with their timers), journal entries and learned durations. */
export interface StoreBatch {
  readonly runs: readonly { readonly run: StoredRun; readonly timers: readonly TimerRow[] }[];
  readonly journal: readonly JournalEntry[];
  /** Learned durations and choices, each in its latest state (a store without `loadHistory` may ignore them). */
  readonly history?: readonly HistoryRow[];
}

/** Which runs `list` returns. */
export interface RunFilter {
  readonly status?: RunStatus | readonly RunStatus[];
  readonly workflow?: string;
  /** @default 1000 */
  readonly limit?: number;
}

/**
 * Where runs, checkpoints, the step journal and timers live. `sqliteStore` and `postgresStore` implement it, and
 * pass one contract test suite; the engine keeps runs in memory without one.
 */
/** What a write tells back: the runs whose checkpoint was refused because another run holds their id. */
export interface StoreWriteResult {
  /** Ids of runs not written: a run with the same id and another `createdAt` is stored, and keeps its row. */
  readonly refused?: readonly string[];
}

export interface WorkflowStore {
  /**
   * Writes a batch in one transaction: all of it or none. A journal key already present keeps its first output. A
   * run whose id another run holds (another `createdAt`) is not written, nor are its timers: its id is returned in
   * `refused`.
   */
  write(batch: StoreBatch): Promise<StoreWriteResult | undefined>;
  getRun(id: string): Promise<StoredRun | undefined>;
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  getJournal(key: string): Promise<JournalEntry | undefined>;
  /** The pending deadlines of a run, as of its last checkpoint. */
  listTimers(runId: string): Promise<TimerRow[]>;
  /**
   * Every learned duration and choice, to warm the ETA of a new engine. Optional: without it, an engine on this
   * store learns durations in memory only.
   */
  loadHistory?(): Promise<HistoryRow[]>;
  close(): Promise<void>;
}
