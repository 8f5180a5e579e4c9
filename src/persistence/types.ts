import type { SerializedError } from '../model/errors.js';

/** Where a run is. `waiting` means a step waits on a human: an escalation or a `waitFor`. */
export type RunStatus = 'running' | 'waiting' | 'done' | 'failed' | 'cancelled' | 'compensated';

/** The statuses of runs that have not ended (what `engine.recover()` resumes). */
export const UNFINISHED: readonly RunStatus[] = ['running', 'waiting'];

/** The final statuses: runs that have ended (what {@link WorkflowStore.pruneEnded} may delete). */
export const ENDED: readonly RunStatus[] = ['done', 'failed', 'cancelled', 'compensated'];

/** What the store keeps about a run, as `engine.get(id)` returns it. */
export interface RunRecord {
  /** The run id: given at start (`engine.start(..., { id })`) or a random UUID. */
  readonly id: string;
  /** The definition id. */
  readonly workflow: string;
  /** The definition's version hash when the run started. */
  readonly version: string;
  /** Where the run is now. */
  readonly status: RunStatus;
  /** The validated input the run started with (secrets sealed by the store's `secrets` hook). */
  readonly input: unknown;
  /** The output, once the run is `done`. */
  readonly output?: unknown;
  /** The failure, once the run `failed` (or was `cancelled` / `compensated`), JSON-safe with its `code`. */
  readonly error?: SerializedError;
  /** When the run was claimed, epoch milliseconds. */
  readonly createdAt: number;
  /** When its last checkpoint was written, epoch milliseconds. */
  readonly updatedAt: number;
  /** The engine that owns the run now (its lease), if any; ended runs keep their last owner. */
  readonly owner?: string;
  /** The fencing epoch: bumped each time an engine takes the run; every write of the run must carry it. */
  readonly epoch?: number;
  /** When the owner's lease ends unless renewed (epoch ms); 0 once released. */
  readonly leaseUntil?: number;
  /**
   * `true` when the run only waited at its last checkpoint (a `waitFor`, an escalation waiting for a decision, a
   * backoff: no agent call or other work in flight). An engine that passivates leaves such a run in the store, once no
   * live engine holds its lease, until its next deadline or a signal wakes it. Absent otherwise.
   */
  readonly idle?: boolean;
}

/** A run record with its last checkpoint: the persisted XState snapshot as JSON text (`''` before it started). */
export interface StoredRun extends RunRecord {
  /** XState's persisted snapshot (`actor.getPersistedSnapshot()`) as JSON text. */
  readonly snapshot: string;
}

/** Who may write a run: the owner id and the epoch its lease was taken with. */
export interface RunLease {
  /** The owning engine's id (`createEngine({ lease: { owner } })` or a random one). */
  readonly owner: string;
  /** The fencing epoch the lease was taken with. */
  readonly epoch: number;
}

/** A lease its holder gives up: the run, and the epoch the holder took it at (see {@link WorkflowStore.release}). */
export interface HeldLease {
  /** The run id. */
  readonly id: string;
  /** The fencing epoch the releaser holds the run at. */
  readonly epoch: number;
}

/** A pending deadline of a run (a backoff, an escalation, a wait), written with each checkpoint. */
export interface TimerRow {
  /** The run the deadline belongs to. */
  readonly runId: string;
  /** The step (or `waitFor`) that waits. */
  readonly stepPath: string;
  /** What ends at the deadline: a retry's backoff, an escalation's wait for a decision, or a `waitFor`. */
  readonly kind: 'backoff' | 'escalation' | 'wait';
  /** Epoch milliseconds. */
  readonly deadline: number;
}

/** A step attempt's output, stored under its idempotency key before the workflow moves on. */
export interface JournalEntry {
  /** `runId:stepPath:attempt`. */
  readonly key: string;
  /** The run the attempt belongs to. */
  readonly runId: string;
  /** The step's path in the run. */
  readonly stepPath: string;
  /** The attempt's number in the step, from 1. */
  readonly attempt: number;
  /** The output as JSON text. */
  readonly output: string;
  /** When the output was journaled, epoch milliseconds. */
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
  /** A learned duration, or a learned choice (how often each branch arm was taken). */
  readonly kind: 'duration' | 'choice';
  /** The learned state as JSON text (its shape belongs to the history that wrote it). */
  readonly state: string;
  /** When it was last learned, epoch milliseconds. */
  readonly updatedAt: number;
}

/** A new run, inserted with its owner's lease (epoch 1) unless its id is stored already. */
export interface RunClaim {
  /** The run as it starts. */
  readonly run: StoredRun;
  /** The engine that claims it. */
  readonly owner: string;
  /** The lease's end, epoch ms. */
  readonly leaseUntil: number;
}

/** A run's checkpoint, written only if `lease` still holds the run. */
export interface RunCheckpoint {
  /** The run's row as of this checkpoint. */
  readonly run: StoredRun;
  /** Its pending deadlines: they replace the run's stored ones. */
  readonly timers: readonly TimerRow[];
  /** The lease the write is conditional on. */
  readonly lease: RunLease;
  /** The run restarted from its input: drop its journal entries (written before this checkpoint's own). */
  readonly resetJournal?: boolean;
  /** The run only waits in this checkpoint (see {@link RunRecord.idle}). @default false */
  readonly idle?: boolean;
}

/** An idle run that is due: a deadline of it passes soon, or a signal waits for it. */
export interface DueRun {
  /** The run id. */
  readonly id: string;
  /** Its definition id. */
  readonly workflow: string;
  /** Its earliest pending deadline, or the post time of its oldest pending signal, epoch ms. */
  readonly due: number;
  /**
   * `true` when a signal waits for it: it is due now, whatever `due` says. A signal is stamped with the sender's
   * wall time, a deadline with the time of the clock of the engine that set it: an engine whose injected clock lags
   * wall time must not read a signal's post time as still to come.
   */
  readonly signalled?: boolean;
}

/** What a signal asks of a run. */
export type InboxKind = 'event' | 'decision' | 'cancel';

/** A signal for a run from any process: stored, then applied by the run's owner. */
export interface InboxMessage {
  /** A random id the sender polls for the answer by. */
  readonly id: string;
  /** The run the signal is for. */
  readonly runId: string;
  /** What it asks of the run. */
  readonly kind: InboxKind;
  /** The signal as JSON text: `{ event }`, `{ stepPath, decision }` or `{ reason }`. */
  readonly body: string;
  /** `pending` until the owner answers. */
  readonly state: 'pending' | 'applied' | 'refused';
  /** When applied: the result as JSON text; when refused: the serialized error as JSON text. */
  readonly result?: string;
  /** When it was posted, epoch milliseconds. */
  readonly createdAt: number;
}

/** The owner's answer to a signal, committed with the run's checkpoint. */
export interface InboxResult {
  /** The signal's id. */
  readonly id: string;
  /** Its run. */
  readonly runId: string;
  /** Whether the owner applied it or refused it. */
  readonly state: 'applied' | 'refused';
  /** The result, or the serialized refusal, as JSON text. */
  readonly result: string;
  /** The owner's lease: the answer is written only if it still holds the run. */
  readonly lease: RunLease;
}

/**
 * One atomic write: new runs, checkpoints of runs (with their timers), journal entries, signal results and learned
 * durations. Each write of a run is conditional on its lease: a run whose lease moved on is `fenced`, and nothing
 * of it (checkpoint, timers, journal, signal results) is written.
 */
export interface StoreBatch {
  /** New runs: each inserted unless its id is taken (then listed in `refused`). */
  readonly claims?: readonly RunClaim[];
  /** Checkpoints, each conditional on its lease (else listed in `fenced`). */
  readonly runs: readonly RunCheckpoint[];
  /** Attempt outputs, each conditional on its run's lease; an existing key is kept, never replaced. */
  readonly journal: readonly (JournalEntry & { readonly lease: RunLease })[];
  /** Answers to signals, conditional on the lease. */
  readonly inbox?: readonly InboxResult[];
  /** Learned durations and choices, each in its latest state (a store without `loadHistory` may ignore them). */
  readonly history?: readonly HistoryRow[];
}

/** Which runs `list` returns. */
export interface RunFilter {
  /** Only runs in this status (or these). */
  readonly status?: RunStatus | readonly RunStatus[];
  /** Only runs of this definition id. */
  readonly workflow?: string;
  /** At most this many. @default 1000 */
  readonly limit?: number;
  /** Only runs that were idle (`true`) or not (`false`) at their last checkpoint. @default either */
  readonly idle?: boolean;
  /** Skip this many first (a page of a long list: `offset: 50, limit: 50` is the second page of 50). @default 0 */
  readonly offset?: number;
  /** `oldest` first (by creation, then id), or `newest` first, as a list page shows them. @default 'oldest' */
  readonly order?: 'oldest' | 'newest';
}

/** Which runs {@link WorkflowStore.listRunHeads} returns: a {@link RunFilter}, and only these ids if given. */
export interface RunHeadFilter extends RunFilter {
  /** Only the runs with these ids (those of them stored and matching the rest of the filter). */
  readonly ids?: readonly string[];
}

/** A run's record without its `input` and `output`: what {@link WorkflowStore.listRunHeads} returns. */
export type RunHead = Omit<RunRecord, 'input' | 'output'>;

/** Which ended runs {@link WorkflowStore.pruneEnded} deletes (or, with `dryRun`, counts). */
export interface PruneOptions {
  /** Only runs that ended (their last checkpoint, `updatedAt`) before this time, epoch ms. */
  readonly endedBefore: number;
  /** At most this many runs, in one transaction: small, so a busy store is not locked for long. @default 100 */
  readonly limit?: number;
  /** Count the runs that would be deleted (at most `limit`), delete nothing. @default false */
  readonly dryRun?: boolean;
  /** The time leases are compared with: a run whose lease ends after it is kept. @default Date.now() */
  readonly now?: number;
}

/** What {@link WorkflowStore.pruneEnded} did. */
export interface PruneResult {
  /** How many runs were deleted (or, with `dryRun`, would be), with everything that belonged to them. */
  readonly runs: number;
}

/** What a write tells back: claims refused (the id is taken) and runs fenced (their lease moved on). */
export interface StoreWriteResult {
  /** Ids of claims not written: another run holds the id, and keeps its row. */
  readonly refused?: readonly string[];
  /** Ids of runs whose lease no longer holds: nothing of them was written. */
  readonly fenced?: readonly string[];
}

/**
 * Where runs, checkpoints, the step journal, timers, leases and the signal inbox live. `sqliteStore`,
 * `postgresStore` and `memoryStore` implement it and pass one contract suite
 * (`test/integration/store-contract.test.ts`): write your own against it.
 */
export interface WorkflowStore {
  /**
   * Writes a batch in one transaction: all of it or none (a failed write leaves nothing behind and may be retried
   * as is). A journal key already present keeps its first output; a claim whose id is stored is `refused`; a
   * checkpoint, journal entry or signal result whose lease no longer holds its run is skipped and its run `fenced`.
   */
  write(batch: StoreBatch): Promise<StoreWriteResult | undefined>;
  /**
   * Takes an unfinished run for `owner` if its lease expired (`leaseUntil <= now`), was released, or is already
   * `owner`'s: bumps its epoch and returns the new lease, else `undefined`.
   */
  acquire(id: string, owner: string, now: number, leaseUntil: number): Promise<RunLease | undefined>;
  /**
   * Extends every lease `owner` holds on unfinished runs (not those it released) to `leaseUntil`, never shortening one
   * (a renewal issued before a run was taken again must not end its newer lease sooner); returns the leases it still
   * holds, by run id.
   */
  renew(owner: string, leaseUntil: number): Promise<(RunLease & { readonly id: string })[]>;
  /**
   * Ends `owner`'s leases on these runs at once, so another engine can take them: each only if the run is still held
   * by `owner` at the given epoch. A release that arrives late (the run taken since, even by another engine under
   * the same owner id) leaves the newer lease alone.
   */
  release(owner: string, leases: readonly HeldLease[]): Promise<void>;
  /**
   * Unfinished runs whose lease ended by `now` (or was released), oldest first; only of `workflows` if given, and
   * only those not idle at their last checkpoint with `busyOnly` (what adoption asks for: idle ones are taken only
   * when due, through `listDue`).
   */
  listAdoptable(
    now: number,
    limit: number,
    workflows?: readonly string[],
    options?: { readonly busyOnly?: boolean },
  ): Promise<RunRecord[]>;
  /**
   * Idle unfinished runs no live engine holds (lease ended by `now`, or released) that have a deadline before
   * `before` or a pending signal, earliest due first, at most `limit`; only of `workflows` if given. What the one
   * wake-up scheduler of an engine that passivates reads (a range of the timers' deadline index, never every run).
   * Optional: `createEngine({ passivate })` needs it.
   */
  listDue?(before: number, now: number, limit: number, workflows?: readonly string[]): Promise<DueRun[]>;
  /**
   * Stores a signal for a run (state `pending`). A signal whose id is stored already is left as it is, answer and
   * all: a post retried after its answer was lost, or a signal sent again under its caller's name, is stored once.
   * Resolves `true` if this call stored it, `false` if it was stored already (a store that cannot tell resolves
   * nothing: a signal its caller named then waits for the owner's poll to apply it, even in the caller's engine).
   * Rejects with a `FlowstateError` of code `RUN_NOT_FOUND`, storing nothing, if its run is not stored (an ended run
   * is): never was, or was pruned, even by a {@link WorkflowStore.pruneEnded} running at the same moment: the run is
   * checked where the row is inserted, atomically against a prune, so no row is ever left for a run that is gone
   * (no owner would read it, and its caller would wait for an answer until it timed out).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a store written before the answer (`async post() {}`) still fits
  post(message: InboxMessage): Promise<boolean | undefined | void>;
  /** Pending signals of the runs `owner` holds (not those it released), oldest first. */
  pendingFor(owner: string, limit: number): Promise<InboxMessage[]>;
  /** One signal, to learn whether it was applied. */
  getMessage(id: string): Promise<InboxMessage | undefined>;
  /** Forgets a signal its sender has read the answer of (or gave up on: its run ended), so the inbox stays small. */
  deleteMessage(id: string): Promise<void>;
  /**
   * Calls `notify` with a run id soon after a signal is posted for it by any process (PostgreSQL LISTEN/NOTIFY).
   * Optional: without it, owners poll. Resolves to the function that stops listening.
   */
  listen?(notify: (runId: string) => void): Promise<() => Promise<void>>;
  /** One run with its last checkpoint, or `undefined` if no run has that id. */
  getRun(id: string): Promise<StoredRun | undefined>;
  /** Run records without their snapshots, in the filter's order (oldest first by default). */
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;
  /**
   * {@link listRuns} without the runs' `input` and `output` (nor snapshots), and with `ids`, only those runs: what a
   * runs list shows, and what a poller reads to learn which runs changed (`updatedAt`, `status`, the lease), at a
   * cost that does not grow with the runs' payloads. Optional: without it a caller reads `listRuns` or `getRun`.
   */
  listRunHeads?(filter?: RunHeadFilter): Promise<RunHead[]>;
  /**
   * How many runs match a filter's `status` and `workflow` (its `limit`, `offset` and `order` are ignored), for
   * the page count of a list. Optional: without it a caller knows only whether a next page exists.
   */
  countRuns?(filter?: RunFilter): Promise<number>;
  /**
   * Every journal entry of a run, oldest first: the attempts whose output was kept, for a run's step log. Optional:
   * without it a step log shows only what the run's last checkpoint holds.
   */
  listJournal?(runId: string): Promise<JournalEntry[]>;
  /**
   * The journal entries of a run whose step path starts with `stepPathPrefix` (`m` for a map `m`'s own entry and
   * its items' `m[0]`, `m[1]`...; also `mx`: callers filter), in any order: what a restored map reads its ended
   * items' results back with, in one read. Optional: without it `listJournal` is read and filtered; a store with
   * neither keeps each map's results in its snapshot.
   */
  listJournalUnder?(runId: string, stepPathPrefix: string): Promise<JournalEntry[]>;
  /** The journaled output of an attempt by its idempotency key, if it was journaled. */
  getJournal(key: string): Promise<JournalEntry | undefined>;
  /** The pending deadlines of a run, as of its last checkpoint. */
  listTimers(runId: string): Promise<TimerRow[]>;
  /**
   * Every learned duration and choice, to warm the ETA of a new engine. Optional: without it, an engine on this
   * store learns durations in memory only.
   */
  loadHistory?(): Promise<HistoryRow[]>;
  /**
   * Deletes ended runs (`done`, `failed`, `cancelled`, `compensated`) whose last checkpoint is older than
   * `endedBefore` and whose lease has ended by `now`, oldest first, at most `limit` in one transaction, with
   * everything of theirs: journal entries (map items' included), timers and inbox rows (the kept answers of named
   * signals too: a signal re-sent under its name to a pruned run finds no run). The conditions are checked again
   * where the rows are deleted, in the same transaction, so a run that is unfinished, or whose lease is live, at
   * that moment is never deleted. Learned durations belong to a workflow, not a run, and are kept. Resolves how many
   * runs went; fewer than `limit` means none is left to prune now (or, on PostgreSQL, the rest is locked by a
   * writer at this moment: the next call takes them). Optional: `pruneRuns` and `flowstate runs prune` refuse a
   * store without it with a `ConfigurationError`.
   *
   * @example
   * ```ts
   * const month = 30 * 24 * 3_600_000;
   * const { runs } = await store.pruneEnded!({ endedBefore: Date.now() - month, limit: 100 });
   * ```
   */
  pruneEnded?(options: PruneOptions): Promise<PruneResult>;
  /** Closes connections; the engine calls it from `engine.close()` after its last write. */
  close(): Promise<void>;
}
