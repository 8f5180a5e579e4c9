import { prepareRow } from './rows.js';
import type {
  HistoryRow,
  InboxResult,
  JournalEntry,
  RunCheckpoint,
  RunClaim,
  RunLease,
  StoreBatch,
  WorkflowStore,
} from './types.js';

/** A run's checkpoint: its record with the snapshot, its pending deadlines and the lease it is written under. */
export type Checkpoint = RunCheckpoint;

// Store I/O runs on real time even under fake timers: batching and retrying are not timing logic.
const nextTick: (fn: () => void) => void = globalThis.setImmediate ?? ((fn) => setTimeout(fn, 0));
const realSetTimeout = globalThis.setTimeout;
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 5_000;

/** What the writer tells its owner about. */
export interface BatchWriterEvents {
  /** A batch failed; it is retried after `retryInMs`, nothing of it dropped. */
  readonly onError?: (error: unknown, retryInMs: number) => void;
  /** A run's lease no longer holds: nothing of it was written. */
  readonly onFenced?: (runId: string) => void;
  /**
   * A run's checkpoint cannot be serialized (its snapshot, output or error, or a restarted run's input): it was left
   * out of the batch (and will be on any retry).
   */
  readonly onUnwritable?: (runId: string, error: unknown) => void;
  /** A batch was committed after failures. */
  readonly onRecovered?: (failures: number) => void;
}

type Journaled = JournalEntry & { readonly lease: RunLease };

/**
 * Group commit: claims, checkpoints, journal entries, signal results and learned durations queued in the same tick
 * go to the store in one transaction, one transaction in flight at a time, so durability costs one write per batch
 * rather than one per transition. A run checkpointed twice in a batch is written once, with its latest state.
 *
 * A failed batch is never dropped: it goes back in the queue (merged with what came since; a newer checkpoint of a
 * run wins) and is retried with exponential backoff until the store takes it. Whoever waits on it keeps waiting.
 */
export class BatchWriter {
  private claims = new Map<string, RunClaim>();
  private runs = new Map<string, () => Checkpoint>();
  private journal: Journaled[] = [];
  private inbox: InboxResult[] = [];
  private history = new Map<string, () => HistoryRow | undefined>();
  private waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  /** Claims the store refused, until their callers learn it. */
  private refusedClaims = new Set<string>();
  /** Claims left out because their run cannot be serialized, with the error, until their callers learn it. */
  private unstorableClaims = new Map<string, unknown>();
  /** The promise every write queued in the current batch shares (one per batch, not one per write). */
  private batchDone: Promise<void> | undefined;
  private scheduled = false;
  private inFlight: Promise<void> | undefined;
  /** The batch being written, and the runs it writes for (made when first asked: the write path never pays for it). */
  private writing: StoreBatch | undefined;
  private entriesSeen:
    | {
        readonly journal: Journaled[];
        readonly inbox: InboxResult[];
        readonly journalLength: number;
        readonly inboxLength: number;
        readonly ids: ReadonlySet<string>;
      }
    | undefined;
  private writingRuns: { readonly batch: StoreBatch; readonly ids: ReadonlySet<string> } | undefined;
  private failures = 0;

  constructor(
    private readonly store: WorkflowStore,
    private readonly events: BatchWriterEvents = {},
  ) {}

  /**
   * Queues a new run; resolves `true` once its row is committed, `false` if another run holds its id. Rejects with
   * the serializer's error, writing nothing of it, if the run cannot be stored as JSON (its input: a BigInt, a
   * circular structure, nesting too deep); the other writes of the batch are committed as usual.
   */
  claim(claim: RunClaim): Promise<boolean> {
    const { id } = claim.run;
    this.claims.set(id, claim);
    return this.enqueue().then(() => {
      if (this.unstorableClaims.has(id)) {
        const error = this.unstorableClaims.get(id);
        this.unstorableClaims.delete(id);
        throw error;
      }
      return !this.refusedClaims.delete(id);
    });
  }

  /**
   * Queues a checkpoint of a run; resolves once it is committed (or its run was fenced). `take` runs when the batch
   * is written, so a run that changes many times in a tick is serialized once, in its latest state.
   */
  checkpoint(runId: string, take: () => Checkpoint): Promise<void> {
    this.runs.set(runId, take);
    return this.enqueue();
  }

  /** Takes a run's queued checkpoint now (the run is about to change in a way that must not be written). */
  freeze(runId: string): void {
    const take = this.runs.get(runId);
    if (!take) return;
    let checkpoint: Checkpoint;
    try {
      checkpoint = take();
    } catch {
      // Its state cannot be serialized (a run found unwritable is frozen as it stops): nothing of it is written.
      this.runs.delete(runId);
      return;
    }
    this.runs.set(runId, () => checkpoint);
  }

  /**
   * Whether everything written for the run so far is committed: nothing of it queued (a checkpoint, a journal entry,
   * a signal's answer) nor in the batch being written. A run must be, before its lease is released: a release on
   * another connection can commit first, and the run's last write is then fenced and lost.
   */
  committed(runId: string): boolean {
    if (this.runs.has(runId) || this.claims.has(runId)) return false;
    if (this.queuedEntries().has(runId)) return false;
    const { writing } = this;
    if (!writing) return true;
    if (this.writingRuns?.batch !== writing) this.writingRuns = { batch: writing, ids: runsOf(writing) };
    return !this.writingRuns.ids.has(runId);
  }

  /**
   * The runs with journal entries or signal answers queued. Made again only when those changed since it was last
   * asked (a sweep asks for each of many runs in a row: one pass over the queue, not one per run).
   */
  private queuedEntries(): ReadonlySet<string> {
    const seen = this.entriesSeen;
    const { journal, inbox } = this;
    // Between drains the queues only grow (push): the same arrays at the same lengths hold the same entries.
    if (
      seen?.journal === journal &&
      seen.inbox === inbox &&
      seen.journalLength === journal.length &&
      seen.inboxLength === inbox.length
    )
      return seen.ids;
    const ids = new Set<string>();
    for (const j of journal) ids.add(j.runId);
    for (const r of inbox) ids.add(r.runId);
    this.entriesSeen = { journal, inbox, journalLength: journal.length, inboxLength: inbox.length, ids };
    return ids;
  }

  /** Queues a journal entry; resolves once it is committed. */
  record(entry: Journaled): Promise<void> {
    this.journal.push(entry);
    return this.enqueue();
  }

  /** Queues the owner's answer to a signal, committed with the run's next checkpoint. */
  answer(result: InboxResult): Promise<void> {
    this.inbox.push(result);
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

  /** Whether the last batch failed and is waiting to be retried. */
  get failing(): boolean {
    return this.failures > 0;
  }

  /** Resolves when everything queued so far is committed. */
  async flush(): Promise<void> {
    if (this.pending()) await this.enqueue();
    else await this.inFlight;
  }

  private pending(): boolean {
    return (
      this.claims.size > 0 ||
      this.runs.size > 0 ||
      this.journal.length > 0 ||
      this.inbox.length > 0 ||
      this.history.size > 0
    );
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
    const queued = { claims: this.claims, runs: this.runs, history: this.history };
    // Every JSON text of a run's row is made here, outside the store's transaction (the store writes the texts made
    // here: nothing is serialized twice). A run that cannot be serialized (it will not on a retry either) is left
    // out and reported alone: the other runs of the batch are written as usual. Inside the transaction its error
    // would fail the batch, taken for a store fault and retried forever, every run of the engine waiting behind it.
    const claims: RunClaim[] = [];
    const leftOut = new Set<string>();
    for (const claim of queued.claims.values()) {
      try {
        prepareRow(claim.run, true);
        claims.push(claim);
      } catch (error) {
        leftOut.add(claim.run.id);
        this.unstorableClaims.set(claim.run.id, error);
      }
    }
    const runs: Checkpoint[] = [];
    for (const [runId, take] of queued.runs) {
      try {
        const checkpoint = take();
        prepareRow(checkpoint.run, checkpoint.resetJournal === true);
        runs.push(checkpoint);
      } catch (error) {
        leftOut.add(runId);
        this.events.onUnwritable?.(runId, error);
      }
    }
    const history = [...queued.history.values()].flatMap((take) => {
      try {
        return take() ?? [];
      } catch {
        return [];
      }
    });
    const batch: StoreBatch = {
      claims,
      runs,
      journal: this.journal,
      // A left-out run's answers stay unwritten: an answer marks its signal applied, and the state the signal made
      // was not stored (the caller would be told `applied` for an effect a restart would not have). Its signal stays
      // pending; the run stops, and its caller hears it ended before the signal was read. Journal entries are kept:
      // they are agents' outputs, which a restore reuses.
      inbox: leftOut.size === 0 ? this.inbox : this.inbox.filter((answer) => !leftOut.has(answer.runId)),
      history,
    };
    this.claims = new Map();
    this.runs = new Map();
    this.journal = [];
    this.inbox = [];
    this.history = new Map();
    this.waiters = [];
    const empty =
      !batch.claims?.length &&
      batch.runs.length === 0 &&
      batch.journal.length === 0 &&
      !batch.inbox?.length &&
      !batch.history?.length;
    if (empty) {
      for (const w of waiters) w.resolve();
      return;
    }
    this.writing = batch;
    this.inFlight = this.store.write(batch).then((result) => {
      for (const id of result?.refused ?? []) this.refusedClaims.add(id);
      for (const id of result?.fenced ?? []) this.events.onFenced?.(id);
    });
    try {
      await this.inFlight;
      this.writing = undefined;
      if (this.failures > 0) this.events.onRecovered?.(this.failures);
      this.failures = 0;
      for (const w of waiters) w.resolve();
    } catch (error) {
      this.requeue(batch, waiters);
      // In the same step as the requeue: `committed` always finds the batch, queued or being written.
      this.writing = undefined;
      this.failures++;
      const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** (this.failures - 1));
      this.events.onError?.(error, delay);
      this.scheduled = true;
      realSetTimeout(() => void this.drain(), delay * (0.75 + Math.random() / 2)).unref?.();
    }
  }

  /** Puts a failed batch back in front of what was queued since; a checkpoint or learned path queued since wins. */
  private requeue(batch: StoreBatch, waiters: BatchWriter['waiters']) {
    for (const claim of batch.claims ?? [])
      if (!this.claims.has(claim.run.id)) this.claims.set(claim.run.id, claim);
    for (const checkpoint of batch.runs)
      if (!this.runs.has(checkpoint.run.id)) this.runs.set(checkpoint.run.id, () => checkpoint);
    this.journal = [...batch.journal, ...this.journal];
    this.inbox = [...(batch.inbox ?? []), ...this.inbox];
    for (const row of batch.history ?? []) {
      const key = historyKey(row);
      if (!this.history.has(key)) this.history.set(key, () => row);
    }
    // They resolve with the next batch that commits, with whatever was queued since.
    this.waiters = [...waiters, ...this.waiters];
  }
}

/** The runs a batch writes for. */
function runsOf(batch: StoreBatch): Set<string> {
  const ids = new Set<string>();
  for (const c of batch.claims ?? []) ids.add(c.run.id);
  for (const c of batch.runs) ids.add(c.run.id);
  for (const j of batch.journal) ids.add(j.runId);
  for (const r of batch.inbox ?? []) ids.add(r.runId);
  return ids;
}

/** The one key of a learned path in a batch (the store's primary key), whoever queues it. */
export function historyKey(row: Pick<HistoryRow, 'workflow' | 'kind' | 'path'>): string {
  return `${row.kind}\0${row.workflow}\0${row.path}`;
}
